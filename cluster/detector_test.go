package cluster

import (
	"slices"
	"testing"
)

const ms = int64(1e6)

func TestDetectorBackoffGrowsWhileFailuresRepeatAndResets(t *testing.T) {
	d := NewDetector(100*ms, 400*ms)
	if d.Down("a", 0) {
		t.Fatal("a peer never reported is up")
	}
	if b := d.Failed("a", 0); b != 100*ms {
		t.Fatalf("first back-off %d", b)
	}
	if !d.Down("a", 99*ms) || d.Down("a", 100*ms) {
		t.Fatal("suspected for exactly the back-off")
	}
	// Concurrent timeouts while suspected are one failure.
	if b := d.Failed("a", 50*ms); b != 50*ms || d.Down("a", 100*ms) {
		t.Fatalf("a failure while suspected must not extend it: %d", b)
	}
	// Failing again soon after expiry doubles, up to the cap.
	want := []int64{200 * ms, 400 * ms, 400 * ms}
	now := 100 * ms
	for i, w := range want {
		if b := d.Failed("a", now); b != w {
			t.Fatalf("failure %d: back-off %d, want %d", i+2, b, w)
		}
		now += w + 10*ms
	}
	// A success clears everything.
	d.Succeeded("a")
	if d.Down("a", now) {
		t.Fatal("still down after a success")
	}
	if b := d.Failed("a", now); b != 100*ms {
		t.Fatalf("after a success the back-off restarts at the base: %d", b)
	}
	// A failure long after the last suspicion ended restarts at the base.
	now += 100 * ms
	if b := d.Failed("a", now+10*100*ms); b != 100*ms {
		t.Fatalf("a late failure restarts at the base: %d", b)
	}
}

func TestDetectorPeersAreIndependentAndListed(t *testing.T) {
	d := NewDetector(0, 0) // defaults
	d.Failed("b", 0)
	d.Failed("a", 0)
	if got := d.Suspects(1); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("suspects %v", got)
	}
	d.Succeeded("a")
	if got := d.Suspects(1); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("suspects %v", got)
	}
	if got := d.Suspects(DefaultSuspectBase); len(got) != 0 {
		t.Fatalf("expired suspicion still listed: %v", got)
	}
	if d.Down("b", 3*DefaultSuspectBase) || len(d.peers) != 0 {
		t.Fatal("a long-expired suspicion is forgotten")
	}
}
