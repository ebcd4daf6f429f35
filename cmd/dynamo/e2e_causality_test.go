package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/ring"
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

// Against five real agents: a read must not answer
// "not found" on a lagging primary's and a fallback's word while another
// primary holds the value. The scene, scripted: primary A of a partition
// cannot write (its disk fails, so it lags), keys are written through
// primary B and acknowledged by B and C (two primaries, no fallback:
// client.ReportAcks says so), then C is paused and a fallback stands in
// for it. Each key is then read once at R=2 through A, the first primary
// (a first read only: its read repair gives the fallback a hint): A's own
// "not found" is instant and the fallback's is one hop away, as B's value
// is; a read that let them make R answered "not found" for about half the
// keys.
func TestE2EFallbackNotFoundNeverOutvotesAPrimary(t *testing.T) {
	e := newE2EWith(t, 5, []string{"--allow-fault-injection", "--anti-entropy-interval", "10m", "--hint-interval", "10m"})
	c := e.client()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := c.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Ring()
	if err != nil {
		t.Fatal(err)
	}
	owners := r.Owners(3)
	var keys []string
	for i := 0; len(keys) < 40; i++ {
		k := fmt.Sprintf("probe-%d", i)
		if r.Partition([]byte(k)) == 3 {
			keys = append(keys, k)
		}
	}
	lag, holder, paused := owners[0], owners[1], owners[2]
	if err := c.FailDiskWrites(ctx, lag, 90*time.Second, 0, 0); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		var acks client.Acks
		if _, err := c.PutVia(ctx, holder, []byte(k), []byte("v-"+k), client.Context{}, client.W(2), client.ReportAcks(&acks)); err != nil {
			t.Fatalf("put %s via %s: %v", k, holder, err)
		}
		if acks.Hinted != 0 || acks.Acked < 2 {
			t.Fatalf("put %s: %+v, want two primaries' acks", k, acks)
		}
	}
	for i, a := range e.agents {
		if a.name == paused {
			e.pause(i)
			defer e.cont(i)
		}
	}
	waitFor(t, 10*time.Second, paused+" seen down", func() (bool, string) {
		m, err := c.Members(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, mb := range m.Members {
			if mb.Name == paused {
				return mb.State == ring.Down, mb.State.String()
			}
		}
		return false, "not a member"
	})
	notFound := 0
	for _, k := range keys {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		obj, err := c.Get(rctx, []byte(k), client.R(2)) // to the first up primary: lag
		cancel()
		switch {
		case err != nil:
			t.Logf("read %s via %s: %v", k, lag, err)
		case !obj.Found:
			notFound++
		}
	}
	if notFound > 0 {
		t.Fatalf("%d of %d keys acknowledged by primaries %s and %s read as not found through %s (lagging) with %s paused: a fallback's not-found outvoted %s's value",
			notFound, len(keys), holder, paused, lag, paused, holder)
	}
}
