package storage

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// gateEngine records the writes it takes (records and sync) and holds each
// one until the test lets it through, when gated.
type gateEngine struct {
	Engine
	mu      sync.Mutex
	writes  []gateWrite
	entered chan struct{} // a write began
	gate    chan struct{} // nil: writes pass at once
	fail    error
}

type gateWrite struct {
	records int
	sync    bool
	at      time.Time
}

func newGateEngine(gated bool) *gateEngine {
	g := &gateEngine{Engine: NewMemory(), entered: make(chan struct{}, 100)}
	if gated {
		g.gate = make(chan struct{})
	}
	return g
}

func (g *gateEngine) Write(b *Batch, opts WriteOptions) error {
	g.mu.Lock()
	g.writes = append(g.writes, gateWrite{records: b.Len(), sync: opts.Sync, at: time.Now()})
	fail := g.fail
	g.mu.Unlock()
	g.entered <- struct{}{}
	if g.gate != nil {
		<-g.gate
	}
	if fail != nil {
		return fail
	}
	return g.Engine.Write(b, opts)
}

func (g *gateEngine) log() []gateWrite {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gateWrite(nil), g.writes...)
}

func put(key, value string) *Batch {
	b := NewBatch()
	b.Put(KeyspaceData, []byte(key), []byte(value))
	return b
}

// outcome collects the done calls of submissions.
type outcome struct {
	mu   sync.Mutex
	errs map[int]error
	all  sync.WaitGroup
}

func newOutcome() *outcome { return &outcome{errs: map[int]error{}} }

func (o *outcome) done(i int) func(error) {
	o.all.Add(1)
	return func(err error) {
		o.mu.Lock()
		if _, twice := o.errs[i]; twice {
			panic(fmt.Sprintf("done of submission %d called twice", i))
		}
		o.errs[i] = err
		o.mu.Unlock()
		o.all.Done()
	}
}

func (o *outcome) wait(t *testing.T) map[int]error {
	t.Helper()
	ch := make(chan struct{})
	go func() { o.all.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("submissions still waiting for their outcome after 10 s")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.errs
}

func TestCommitterGroupsWhatQueuesDuringAWriteInOrder(t *testing.T) {
	g := newGateEngine(true)
	stats := &CommitStats{}
	c := NewCommitter(g, 0, stats)
	defer c.Close()
	o := newOutcome()
	c.Submit(put("k", "v0"), WriteOptions{Sync: true}, o.done(0))
	<-g.entered // the first group is being written
	for i := 1; i <= 5; i++ {
		c.Submit(put("k", fmt.Sprintf("v%d", i)), WriteOptions{Sync: i == 3}, o.done(i))
		c.Submit(put(fmt.Sprintf("other%d", i), "x"), WriteOptions{}, o.done(10+i))
	}
	close(g.gate)
	for i, err := range o.wait(t) {
		if err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
	}
	w := g.log()
	if len(w) != 2 || w[0].records != 1 || w[1].records != 10 {
		t.Fatalf("writes %+v, want one of 1 record, then one group of the 10 queued during it", w)
	}
	if !w[1].sync {
		t.Fatal("a group holding a synced batch was written without sync")
	}
	if g, b := stats.Groups.Load(), stats.Batches.Load(); g != 2 || b != 11 {
		t.Fatalf("counted %d groups of %d batches, want 2 of 11", g, b)
	}
	if v, err := g.Get(KeyspaceData, []byte("k")); err != nil || string(v) != "v5" {
		t.Fatalf("k = %q, %v after writes v0..v5: a later write was overtaken", v, err)
	}
}

func TestCommitterGroupErrorIsEachMembersAndABadBatchFailsAlone(t *testing.T) {
	g := newGateEngine(true)
	c := NewCommitter(g, 0, nil)
	defer c.Close()
	o := newOutcome()
	c.Submit(put("a", "1"), WriteOptions{Sync: true}, o.done(0))
	<-g.entered
	g.mu.Lock()
	g.fail = errors.New("disk on fire")
	g.mu.Unlock()
	bad := NewBatch()
	bad.Put(KeyspaceData, nil, []byte("empty key"))
	c.Submit(bad, WriteOptions{Sync: true}, o.done(1)) // refused at once
	c.Submit(put("b", "2"), WriteOptions{Sync: true}, o.done(2))
	c.Submit(put("c", "3"), WriteOptions{Sync: true}, o.done(3))
	close(g.gate)
	errs := o.wait(t)
	if errs[0] != nil {
		t.Fatalf("the first group, written before the failure: %v", errs[0])
	}
	if !errors.Is(errs[1], ErrInvalid) {
		t.Fatalf("bad batch: %v, want ErrInvalid", errs[1])
	}
	for _, i := range []int{2, 3} {
		if errs[i] == nil || errs[i].Error() != "disk on fire" {
			t.Fatalf("member %d of the failed group: %v, want the group's error", i, errs[i])
		}
	}
	if w := g.log(); len(w) != 2 || w[1].records != 2 {
		t.Fatalf("writes %+v: the bad batch must not join a group", w)
	}
}

func TestCommitterLingersOnlyUnderLoad(t *testing.T) {
	// Idle: a lone write goes at once, whatever the linger.
	idle := NewCommitter(NewMemory(), time.Hour, nil)
	done := make(chan error, 1)
	idle.Submit(put("k", "v"), WriteOptions{Sync: true}, func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lone write on an idle committer waited for the linger")
	}
	idle.Close()

	// Loaded: batches queued when a group ends wait until the linger after
	// that group's start.
	const linger = 300 * time.Millisecond
	g := newGateEngine(true)
	c := NewCommitter(g, linger, nil)
	defer c.Close()
	o := newOutcome()
	c.Submit(put("a", "1"), WriteOptions{Sync: true}, o.done(0))
	<-g.entered
	c.Submit(put("b", "2"), WriteOptions{Sync: true}, o.done(1))
	g.gate <- struct{}{} // the first group ends with one queued
	<-g.entered
	close(g.gate)
	o.wait(t)
	w := g.log()
	if len(w) != 2 {
		t.Fatalf("writes %+v, want 2", w)
	}
	if gap := w[1].at.Sub(w[0].at); gap < linger {
		t.Fatalf("the second group started %v after the first, under the linger %v", gap, linger)
	}
}

// heldCommitter returns a Committer whose first write ("a", submission 0)
// is held at its engine's gate, with a second ("b", submission 1) queued
// behind it.
func heldCommitter(t *testing.T) (*gateEngine, *Committer, *outcome) {
	t.Helper()
	g := newGateEngine(true)
	c := NewCommitter(g, 0, nil)
	o := newOutcome()
	c.Submit(put("a", "1"), WriteOptions{Sync: true}, o.done(0))
	<-g.entered
	c.Submit(put("b", "2"), WriteOptions{Sync: true}, o.done(1))
	return g, c, o
}

func TestCommitterBarrierAndClose(t *testing.T) {
	g, c, o := heldCommitter(t)
	barrier := make(chan struct{})
	go func() { c.Barrier(); close(barrier) }()
	select {
	case <-barrier:
		t.Fatal("Barrier returned while earlier batches were not written")
	case <-time.After(50 * time.Millisecond):
	}
	close(g.gate)
	<-barrier
	if errs := o.wait(t); errs[0] != nil || errs[1] != nil {
		t.Fatalf("outcomes %v", errs)
	}
	c.Submit(put("c", "3"), WriteOptions{}, o.done(2)) // queued, then Close writes it
	c.Close()
	if v, err := g.Get(KeyspaceData, []byte("c")); err != nil || string(v) != "3" {
		t.Fatalf("a batch queued before Close: %q, %v", v, err)
	}
	if err := c.Write(put("d", "4"), WriteOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v, want ErrClosed", err)
	}
	c.Close() // twice is fine
}

// A caller blocked on Write or Barrier is not kept waiting for the linger:
// its group, and what was queued before it, starts at once.
func TestCommitterWaitingCallersSkipTheLinger(t *testing.T) {
	for _, barrier := range []bool{false, true} {
		g := newGateEngine(true)
		c := NewCommitter(g, time.Hour, nil)
		o := newOutcome()
		c.Submit(put("a", "1"), WriteOptions{Sync: true}, o.done(0))
		<-g.entered
		c.Submit(put("b", "2"), WriteOptions{Sync: true}, o.done(1))
		g.gate <- struct{}{} // the first group ends with one queued: loaded
		close(g.gate)
		waited := make(chan error, 1)
		go func() {
			if barrier {
				c.Barrier()
				waited <- nil
				return
			}
			waited <- c.Write(put("c", "3"), WriteOptions{Sync: true})
		}()
		select {
		case err := <-waited:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("barrier %v: a waiting caller waited for the linger", barrier)
		}
		if errs := o.wait(t); errs[1] != nil {
			t.Fatal(errs[1])
		}
		c.Close()
	}
}

// A Barrier after Close returns only once what was queued before Close is
// written (a vnode closing late drains before it persists its tree).
func TestCommitterBarrierAfterCloseWaitsForTheQueue(t *testing.T) {
	g, c, o := heldCommitter(t)
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	waitFor(t, "Close to begin", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.closed })
	barrier := make(chan struct{})
	go func() { c.Barrier(); close(barrier) }()
	select {
	case <-barrier:
		t.Fatal("a Barrier after Close returned while queued batches were not written")
	case <-time.After(50 * time.Millisecond):
	}
	close(g.gate)
	<-barrier
	<-closed
	if v, err := g.Get(KeyspaceData, []byte("b")); err != nil || string(v) != "2" {
		t.Fatalf("b = %q, %v", v, err)
	}
	if errs := o.wait(t); errs[0] != nil || errs[1] != nil {
		t.Fatalf("outcomes %v", errs)
	}
}
