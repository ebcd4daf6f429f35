package progress

import "testing"

func TestProgressRateAndTimeLeft(t *testing.T) {
	var p Tracker // the zero value is ready
	if got := p.Snapshot(0); len(got) != 0 {
		t.Fatalf("empty: %+v", got)
	}
	p.Pending([]Count{{Target: "b", Items: 1000}, {Target: "a", Items: 5}})
	// b: 10 hints a second for 10 s.
	for s := int64(0); s <= 10; s++ {
		p.Delivered("b", 10, 1_000_000+s*1000)
	}
	p.Pending([]Count{{Target: "b", Items: 890}, {Target: "a", Items: 5}})
	got := p.Snapshot(1_010_000)
	if len(got) != 2 || got[0].Target != "a" || got[1].Target != "b" {
		t.Fatalf("owners by name: %+v", got)
	}
	a, b := got[0], got[1]
	if a.Pending != 5 || a.Delivered != 0 || a.RatePerSecond != 0 || a.ETAMs != 0 {
		t.Fatalf("a (nothing delivered): %+v", a)
	}
	// 110 delivered, the first 10 at the window's start: 100 in 10 s.
	if b.Pending != 890 || b.Delivered != 110 || b.RatePerSecond != 11 || b.ETAMs != 80_909 {
		t.Fatalf("b: %+v, want 110 delivered, 11/s, 890 left in 80.9 s", b)
	}
	// Deliveries stop (b went down): the rate decays to 0 over the
	// window, and with it the estimate.
	if got := p.Snapshot(1_040_000)[1]; got.RatePerSecond <= 0 || got.RatePerSecond >= 11 {
		t.Fatalf("30 s later: %+v, want a lower rate", got)
	}
	if got := p.Snapshot(1_200_000)[1]; got.RatePerSecond != 0 || got.ETAMs != 0 || got.Delivered != 110 {
		t.Fatalf("past the window: %+v, want rate 0 and no estimate", got)
	}
	// All delivered: b stays listed (delivered) with nothing pending.
	p.Pending(nil)
	if got := p.Snapshot(1_200_000); len(got) != 1 || got[0].Target != "b" || got[0].Pending != 0 || got[0].ETAMs != 0 {
		t.Fatalf("nothing pending: %+v", got)
	}
}
