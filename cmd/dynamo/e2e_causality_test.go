package main

import (
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/version"
)

// The review's black-box scenario against three real agents, with the
// CLI: a put's printed context covers what its writer saw and the version
// it wrote, so a writer that writes again with it keeps another client's
// acknowledged sibling. And a context crafted from a real one with the
// coordinator's counter at 2^64-2 is refused, and the node keeps taking
// writes.
func TestE2EPutContextAndForgedContexts(t *testing.T) {
	e := newE2E(t, 3)
	put := func(args ...string) string {
		t.Helper()
		out, errOut, code := e.cli(append([]string{"put"}, args...)...)
		if code != 0 {
			t.Fatalf("dynamo put %v: exit %d: %s", args, code, errOut)
		}
		return strings.TrimSpace(out)
	}
	put("k", "y")
	cx := put("k", "x1")
	put("--context", cx, "k", "x2")
	if got := decoded(t, e.getJSON("k", "--r", "3").Values); fmt.Sprint(got) != "[x2 y]" {
		t.Fatalf("after put k y; CX=$(put k x1); put --context $CX k x2: get k = %v, want [x2 y]", got)
	}

	raw, err := base64.StdEncoding.DecodeString(put("f", "v"))
	if err != nil {
		t.Fatal(err)
	}
	real, err := version.DecodeContext(raw)
	if err != nil || len(real.Clock) != 1 {
		t.Fatalf("put's context: %+v %v", real, err)
	}
	forged := version.Context{Clock: version.Clock{{Actor: real.Clock[0].Actor, Counter: math.MaxUint64 - 1}}}
	_, errOut, code := e.cli("put", "--context", base64.StdEncoding.EncodeToString(version.EncodeContext(forged)), "f", "forged")
	if code == 0 || !strings.Contains(errOut, "context") {
		t.Fatalf("a forged context: exit %d, %q; want a refusal naming the context", code, errOut)
	}
	for i := range 10 {
		put(fmt.Sprintf("after-%d", i), "v")
	}
	if got := decoded(t, e.getJSON("f", "--r", "3").Values); fmt.Sprint(got) != "[v]" {
		t.Fatalf("f after the forged write: %v", got)
	}
}
