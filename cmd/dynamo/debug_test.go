package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/client"
)

// faultKV is the fake client with the storage fault calls.
type faultKV struct{ *fakeKV }

func (f faultKV) FailDiskWrites(_ context.Context, node string, d, lo, hi time.Duration) error {
	f.calls = append(f.calls, fmt.Sprintf("disk %s %v %v %v", node, d, lo, hi))
	return f.err
}

func (f faultKV) CorruptKey(_ context.Context, node string, key []byte) error {
	f.calls = append(f.calls, fmt.Sprintf("corrupt %s key %s", node, key))
	return f.err
}

func (f faultKV) CorruptPartition(_ context.Context, node string, p uint32, keys int) error {
	f.calls = append(f.calls, fmt.Sprintf("corrupt %s partition %d keys %d", node, p, keys))
	return f.err
}

func debugKV(f *fakeKV, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	dial := func(ctx context.Context, cfg client.Config) (kvClient, error) {
		if _, err := f.dial(ctx, cfg); err != nil {
			return nil, err
		}
		return faultKV{f}, nil
	}
	code = runKV("debug", args, &out, &errb, dial)
	return out.String(), errb.String(), code
}

func TestDebugDiskAndCorrupt(t *testing.T) {
	f := &fakeKV{}
	out, errs, code := debugKV(f, "disk", "--node", "n2", "--fail-writes", "5s")
	if code != 0 || !strings.Contains(out, "fail with EIO for 5s") || f.calls[len(f.calls)-1] != "disk n2 5s 20ms 50ms" {
		t.Fatalf("disk: exit %d, stdout %q, stderr %q, calls %v", code, out, errs, f.calls)
	}
	if _, _, code = debugKV(f, "disk", "--node", "n2", "--fail-writes", "0", "--delay-min", "1ms", "--delay-max", "2ms"); code != 0 || f.calls[len(f.calls)-1] != "disk n2 0s 1ms 2ms" {
		t.Fatalf("disk heal: exit %d, calls %v", code, f.calls)
	}
	if _, _, code = debugKV(f, "corrupt", "--node", "n1", "--key", "cart-1"); code != 0 || f.calls[len(f.calls)-1] != "corrupt n1 key cart-1" {
		t.Fatalf("corrupt key: exit %d, calls %v", code, f.calls)
	}
	if _, _, code = debugKV(f, "corrupt", "--node", "n1", "--partition", "3", "--keys", "7"); code != 0 || f.calls[len(f.calls)-1] != "corrupt n1 partition 3 keys 7" {
		t.Fatalf("corrupt partition: exit %d, calls %v", code, f.calls)
	}
	calls := len(f.calls)
	for _, bad := range [][]string{
		{"disk", "--node", "n1"},        // no --fail-writes
		{"disk", "--fail-writes", "1s"}, // no --node
		{"disk", "--node", "n1", "--fail-writes", "1s", "--delay-min", "9ms", "--delay-max", "1ms"}, // inverted delays
		{"corrupt", "--node", "n1"},                                   // neither --key nor --partition
		{"corrupt", "--node", "n1", "--key", "k", "--partition", "2"}, // both
		{"corrupt", "--node", "n1", "--partition", "2", "--keys", "0"},
	} {
		if _, errs, code := debugKV(f, bad...); code != exitUsage || errs == "" {
			t.Fatalf("%v: exit %d (want %d), stderr %q", bad, code, exitUsage, errs)
		}
	}
	if len(f.calls) != calls {
		t.Fatalf("a usage error reached the cluster: %v", f.calls[calls:])
	}
	f.err = &client.InvalidError{Field: "component", Msg: "fault injection is off on this node (start the agent with --allow-fault-injection)"}
	if _, errs, code := debugKV(f, "disk", "--node", "n1", "--fail-writes", "1s"); code != exitFailed || !strings.Contains(errs, "--allow-fault-injection") {
		t.Fatalf("refused: exit %d, stderr %q", code, errs)
	}
	// A client without storage faults (the plain fake) is refused.
	if _, errs, code := kv(&fakeKV{}, "debug", "disk", "--node", "n1", "--fail-writes", "1s"); code != exitFailed || !strings.Contains(errs, "cannot inject storage faults") {
		t.Fatalf("plain client: exit %d, stderr %q", code, errs)
	}
}
