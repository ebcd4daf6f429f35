package coordinator

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/dynamokv/dynamo/ring"
)

// sortedVals is a read's values, sorted.
func sortedVals(a *GetAnswer) string {
	v := make([]string, 0, len(a.Values))
	for _, b := range a.Values {
		v = append(v, string(b))
	}
	slices.Sort(v)
	return fmt.Sprint(v)
}

// A put's returned context covers what its writer saw (its own context)
// and the version it wrote, never the coordinator's whole clock: a writer
// that writes again with it cannot erase a sibling it never read. The
// issue's black-box scenario: y by one client, x1 blind by another, then
// x2 with x1's returned context, all through one coordinator and through
// different ones.
func TestPutContextCoversOnlyWhatItsWriterSaw(t *testing.T) {
	for _, sameCoordinator := range []bool{true, false} {
		s := newSim(t, 3)
		key := "k"
		targets := s.route(key).Targets
		first, second := targets[0].Node, targets[0].Node
		if !sameCoordinator {
			second = targets[1].Node
		}
		if a := s.put(first, key, "y", nil, 2); a.Err != nil {
			t.Fatal(a.Err)
		}
		cx := s.put(first, key, "x1", nil, 2)
		if cx.Err != nil {
			t.Fatal(cx.Err)
		}
		a2 := s.put(second, key, "x2", cx.Context, 2)
		if a2.Err != nil {
			t.Fatal(a2.Err)
		}
		got := s.get(first, key, 3)
		if got.Err != nil {
			t.Fatal(got.Err)
		}
		if v := sortedVals(got); v != "[x2 y]" {
			t.Fatalf("same coordinator %v: read %s after y, x1 blind, x2 with x1's returned context; want [x2 y] (y was acknowledged and never read by x's writer)", sameCoordinator, v)
		}
		// A chain of writes with returned contexts keeps y too.
		ctx := a2.Context
		for i := range 5 {
			a := s.put(second, key, fmt.Sprintf("x%d", 3+i), ctx, 2)
			if a.Err != nil {
				t.Fatal(a.Err)
			}
			ctx = a.Context
		}
		if v := sortedVals(s.get(first, key, 3)); v != "[x7 y]" {
			t.Fatalf("same coordinator %v: after a chain of own-context writes: %s, want [x7 y]", sameCoordinator, v)
		}
		// A read's context covers y: a write with it resolves the siblings,
		// and that write's returned context is then the whole clock.
		rd := s.get(first, key, 3)
		a := s.put(first, key, "merged", rd.Context, 2)
		if a.Err != nil {
			t.Fatal(a.Err)
		}
		if v := sortedVals(s.get(first, key, 3)); v != "[merged]" {
			t.Fatalf("a write with the read's context: %s, want [merged]", v)
		}
		if b := s.put(first, key, "next", a.Context, 2); b.Err != nil {
			t.Fatal(b.Err)
		}
		if v := sortedVals(s.get(first, key, 3)); v != "[next]" {
			t.Fatalf("a write with the returned context of a write that left no sibling: %s, want [next]", v)
		}
	}
}

// A prepared version whose local commit failed is Unreplicated only when
// every other target refused it, none timed out and no hint of it was
// kept: then the vnode may forget it.
func TestUnreplicated(t *testing.T) {
	rt := Route{Partition: 1, N: 3, Targets: []ring.Target{{Node: "a"}, {Node: "b"}, {Node: "c"}}}
	set := setOf(t, "a@1", "v")
	dot := set.Siblings()[0].Dot
	for _, tc := range []struct {
		name string
		run  func(p *Put)
		want bool
	}{
		{"every replica refused", func(p *Put) { putReply(p, "b", errDisk); putReply(p, "c", errDisk) }, true},
		{"one replica stored it", func(p *Put) { putReply(p, "b", nil); putReply(p, "c", errDisk) }, false},
		{"one replica timed out", func(p *Put) { putReply(p, "b", errDisk); putDeadline(p) }, false},
	} {
		p, _, err := NewPut(rt, "a", []byte("k"), PutOptions{W: 2})
		if err != nil {
			t.Fatal(err)
		}
		putPrepared(p, set, dot)
		putCoordinated(p, errDisk)
		tc.run(p)
		if got := p.unreplicated(); got != tc.want {
			t.Errorf("%s: Unreplicated = %v, want %v", tc.name, got, tc.want)
		}
	}
	// With hints on, a refusing replica leaves a hint of the version with
	// the coordinator: it is stored somewhere.
	p, _, _ := NewPut(rt, "a", []byte("k"), PutOptions{W: 2, Hints: true})
	putPrepared(p, set, dot)
	putCoordinated(p, errDisk)
	putReply(p, "b", errDisk)
	putReply(p, "c", errDisk)
	if p.unreplicated() {
		t.Error("a version the coordinator kept a hint of is Unreplicated")
	}
}

var errDisk = errors.New("disk full")
