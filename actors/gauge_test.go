package actors

import "testing"

// A waiter that takes Changed before it reads the level misses no change,
// and a Store of the same level wakes nobody.
func TestGaugeSignalsChanges(t *testing.T) {
	var g Gauge
	ch := g.Changed()
	g.Store(0)
	select {
	case <-ch:
		t.Fatal("storing the same level signalled a change")
	default:
	}
	g.Store(3)
	select {
	case <-ch:
	default:
		t.Fatal("a change was not signalled")
	}
	next := g.Changed()
	if g.Load() != 3 {
		t.Fatalf("level %d", g.Load())
	}
	g.Store(0)
	<-next
}
