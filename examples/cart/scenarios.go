package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/crdt"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
)

// Result is what a scenario saw, for its test.
type Result struct {
	// Added is every item added to the cart, in order.
	Added []string
	// Siblings are the carts a read returned before the merge (each one's
	// items in order), in the order the read returned them.
	Siblings [][]string
	// Merged is the cart read back after the merge was written.
	Merged []string
}

// teller prints the program's narration.
type teller struct{ w io.Writer }

func (t teller) say(format string, args ...any) { fmt.Fprintf(t.w, format+"\n", args...) }

// siblings prints each sibling cart a read returned, labelled by the write
// that made it (labels by value, "?" for none), and records it in res.
func (t teller) siblings(res *Result, values [][]byte, width int, labels map[string]string) error {
	for i, b := range values {
		s, err := decodeCart(b)
		if err != nil {
			return err
		}
		res.Siblings = append(res.Siblings, s.Elements())
		label, ok := labels[string(b)]
		if !ok {
			label = "?"
		}
		t.note("sibling %d: %-*s (%s)", i+1, width, cartString(s.Elements()), label)
	}
	return nil
}

// readMerged reads the cart after a merge: it must be one version; its
// elements go to res.Merged.
func readMerged(ctx context.Context, c *client.Client, key []byte, res *Result) (*client.Object, error) {
	obj, err := c.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if len(obj.Values) != 1 {
		return obj, fmt.Errorf("cart: after the merge the read returned %d siblings, want 1", len(obj.Values))
	}
	final, err := decodeCart(obj.Values[0])
	if err != nil {
		return nil, err
	}
	res.Merged = final.Elements()
	return obj, nil
}

// step prints a step: a label in the margin, then the text.
func (t teller) step(label, format string, args ...any) {
	fmt.Fprintf(t.w, "%-4s %s\n", label, fmt.Sprintf(format, args...))
}

// note prints an indented explanation under a step.
func (t teller) note(format string, args ...any) {
	fmt.Fprintf(t.w, "     %s\n", fmt.Sprintf(format, args...))
}

// versionOf shows a context's version vector as [node:counter ...], the
// paper's notation. Actor ids are "name@<random>", the random part drawn
// anew each time a vnode opens, so the name alone reads better (a dev
// cluster that does not restart has one actor per node).
func versionOf(ctx client.Context) string { return showClock(clockOf(ctx)) }

// clockOf decodes a context into node name -> counter.
func clockOf(ctx client.Context) map[string]uint64 {
	clk, err := version.DecodeContext(ctx.Bytes())
	if err != nil {
		return nil
	}
	out := map[string]uint64{}
	add := func(actor string, counter uint64) {
		if i := strings.LastIndexByte(actor, '@'); i > 0 {
			actor = actor[:i]
		}
		out[actor] = max(out[actor], counter)
	}
	for _, e := range clk.Clock {
		add(e.Actor, e.Counter)
	}
	for _, d := range clk.Dots { // a put's returned context: the version written
		add(d.Actor, d.Counter)
	}
	return out
}

func showClock(c map[string]uint64) string {
	parts := make([]string, 0, len(c))
	for _, n := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s:%d", n, c[n]))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// written describes the version a write made: its dot (the coordinator's
// new counter, which the returned context carries) on top of the context
// the client wrote with. The returned context covers exactly that: the
// client's context and the version written, never a sibling the
// coordinator held that the client did not read.
type written struct {
	coordinator string
	dot         uint64
	seen        map[string]uint64
}

func writeOf(coordinator string, readCtx, returned client.Context) written {
	return written{coordinator: coordinator, dot: clockOf(returned)[coordinator], seen: clockOf(readCtx)}
}

// version is the paper's notation: the context joined with the dot.
func (w written) version() string {
	c := maps.Clone(w.seen)
	if c == nil {
		c = map[string]uint64{}
	}
	c[w.coordinator] = max(c[w.coordinator], w.dot)
	return showClock(c)
}

// dvv is the dotted version vector's view: the dot and what was seen.
func (w written) dvv() string {
	return fmt.Sprintf("dot %s:%d on top of %s", w.coordinator, w.dot, showClock(w.seen))
}

func cartString(items []string) string { return "{" + strings.Join(items, ", ") + "}" }

// decodeCart reads one sibling as a cart.
func decodeCart(b []byte) (*crdt.ORSet, error) {
	s, err := crdt.DecodeORSet(b)
	if err != nil {
		return nil, fmt.Errorf("cart: a sibling is not a cart: %w", err)
	}
	return s, nil
}

// replicasOf returns the key's preference list (primaries first) and the
// membership, and checks that the scenario can run.
func replicasOf(ctx context.Context, c *client.Client, key []byte) ([]string, *client.Membership, error) {
	m, err := c.Members(ctx)
	if err != nil {
		return nil, nil, err
	}
	r, err := m.Ring()
	if err != nil {
		return nil, nil, err
	}
	pref := r.PreferenceList(r.Partition(key))
	if m.N < 3 || len(pref) < 3 {
		return nil, nil, fmt.Errorf("cart: the scenarios need N=3 replicas on at least 3 nodes; this cluster has N=%d and %d members (dynamo dev starts 3)", m.N, len(m.Members))
	}
	state := map[string]ring.State{}
	for _, x := range m.Members {
		state[x.Name] = x.State
	}
	for _, n := range pref[:3] {
		if state[n] != ring.Up {
			return nil, nil, fmt.Errorf("cart: the key's replica %s is not up (%v): the scenario needs its three replicas up to start", n, state[n])
		}
	}
	return pref, m, nil
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func(context.Context) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if cond(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cart: %s: not after %v", what, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sees reports whether observer's view gives member the state want.
func sees(ctx context.Context, c *client.Client, observer, member string, want ring.State) bool {
	m, err := c.Status(ctx, observer)
	if err != nil {
		return false
	}
	for _, x := range m.Members {
		if x.Name == member {
			return x.State == want
		}
	}
	return false
}

// addTo adds item to a device's copy of the cart as actor (the device's
// own id, so that its adds never share a tag with another device's) and
// returns the encoded cart to write.
func addTo(cart *crdt.ORSet, actor, item string) ([]byte, error) {
	if _, err := cart.Add(actor, item); err != nil {
		return nil, err
	}
	return cart.Encode(), nil
}

// paper replays the paper's figure 3: D1 and D2 through the key's first
// replica Sx, D3 and D4 concurrently through Sy and Sz while Sx is down, a
// read with both as siblings, and D5, the merge written through Sx.
func paper(ctx context.Context, out io.Writer, cl cluster, phone, laptop *client.Client, key []byte) (*Result, error) {
	t := teller{out}
	res := &Result{}
	pref, m, err := replicasOf(ctx, phone, key)
	if err != nil {
		return nil, err
	}
	sx, sy, sz := pref[0], pref[1], pref[2]
	t.say("Scenario 1: the Dynamo paper's shopping cart (section 4.4, figure 3)")
	t.say("")
	t.note("Cluster: %d nodes, N=%d R=%d W=%d. The cart is key %q,", len(m.Members), m.N, m.R, m.W, key)
	t.note("stored on %s (its preference list). A write goes to one of them,", strings.Join(pref[:3], ", "))
	t.note("the coordinator, which stamps the new version with the next counter of its")
	t.note("own, stores it and replicates it to the others; the write succeeds when W=%d", m.W)
	t.note("replicas have it. Versions read as in the paper: [node:counter ...].")
	t.say("")

	// D1: the phone's first add, to an empty cart.
	obj, err := phone.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	cart := crdt.ORSetFromSiblings(obj.Values)
	v1, err := addTo(cart, "phone", "banana")
	if err != nil {
		return nil, err
	}
	ctx1, err := phone.PutVia(ctx, sx, key, v1, obj.Context)
	if err != nil {
		return nil, fmt.Errorf("cart: D1: %w", err)
	}
	res.Added = append(res.Added, "banana")
	t.step("D1", "The phone adds a banana. %s coordinates the write.", sx)
	t.note("version %s  cart %s", writeOf(sx, obj.Context, ctx1).version(), cartString(cart.Elements()))

	// D2: the phone reads the cart and adds another item with the read's
	// context: D2 descends from D1 and replaces it.
	obj, err = phone.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	cart = crdt.ORSetFromSiblings(obj.Values)
	v2, err := addTo(cart, "phone", "apple")
	if err != nil {
		return nil, err
	}
	ctx2, err := phone.PutVia(ctx, sx, key, v2, obj.Context)
	if err != nil {
		return nil, fmt.Errorf("cart: D2: %w", err)
	}
	res.Added = append(res.Added, "apple")
	t.step("D2", "The phone reads the cart and adds an apple, with the read's context.")
	w2 := writeOf(sx, obj.Context, ctx2)
	t.note("version %s  cart %s", w2.version(), cartString(cart.Elements()))
	t.note("D2 has seen D1 (its context said so), so D2 replaces D1: no siblings.")
	t.say("")

	// Both devices now hold D2 and its context, as a shopping session does.
	phoneView, err := phone.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	laptopView, err := laptop.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	t.note("The phone and a laptop both open the cart: each now holds D2 and its context.")

	// The failure.
	failed := false
	if cl.CanFail() {
		start := time.Now()
		switch err := cl.Fail(sx); {
		case errors.Is(err, errCannotFail):
		case err != nil:
			return nil, err
		default:
			failed = true
			if _, ok := cl.(remote); ok {
				t.step("!!", "%s fails: dynamo dev stops its node (dynamo debug stop) for %v.", sx, remoteDowntime)
			} else {
				t.step("!!", "%s fails: its node is stopped.", sx)
			}
			if err := waitFor(ctx, 15*time.Second, sy+" sees "+sx+" failed", func(ctx context.Context) bool {
				return sees(ctx, phone, sy, sx, ring.Down)
			}); err != nil {
				return nil, err
			}
			t.note("%s's gossip marks it failed after %v; writes now skip it.", sy, time.Since(start).Round(100*time.Millisecond))
		}
	}
	if !failed {
		t.step("!!", "Here %s fails in the paper. This program cannot stop a node of this", sx)
		t.note("cluster (only nodes of dynamo dev stop on request), so it plays the")
		t.note("failure as the clients see it: the next writes go to other coordinators,")
		t.note("as they would while %s is down. (go run ./examples/cart -own: a real failure.)", sx)
	}
	t.say("")

	// D3 and D4: concurrent updates of D2, through two other coordinators.
	phoneCart := crdt.ORSetFromSiblings(phoneView.Values)
	v3, err := addTo(phoneCart, "phone", "milk")
	if err != nil {
		return nil, err
	}
	ctx3, err := phone.PutVia(ctx, sy, key, v3, phoneView.Context)
	if err != nil {
		return nil, fmt.Errorf("cart: D3: %w", err)
	}
	res.Added = append(res.Added, "milk")
	t.step("D3", "The phone adds milk to its copy (D2) with D2's context. %s coordinates.", sy)
	w3 := writeOf(sy, phoneView.Context, ctx3)
	t.note("version %s  cart %s", w3.version(), cartString(phoneCart.Elements()))

	laptopCart := crdt.ORSetFromSiblings(laptopView.Values)
	v4, err := addTo(laptopCart, "laptop", "bread")
	if err != nil {
		return nil, err
	}
	ctx4, err := laptop.PutVia(ctx, sz, key, v4, laptopView.Context)
	if err != nil {
		return nil, fmt.Errorf("cart: D4: %w", err)
	}
	res.Added = append(res.Added, "bread")
	t.step("D4", "The laptop adds bread to its copy (D2) with D2's context, through %s,", sz)
	t.note("another coordinator.")
	w4 := writeOf(sz, laptopView.Context, ctx4)
	t.note("version %s  cart %s", w4.version(), cartString(laptopCart.Elements()))
	t.note("Neither D3 nor D4 has seen the other: each came from D2 alone. They are")
	t.note("concurrent, whatever the clock on the wall says, and both are kept.")
	if failed {
		// A coordinator stores its hint for the missing replica as the write
		// completes; give the second one a moment before counting.
		hints := map[string]uint64{}
		_ = waitFor(ctx, 3*time.Second, "hints stored", func(ctx context.Context) bool {
			for _, n := range []string{sy, sz} {
				if st, err := phone.Status(ctx, n); err == nil {
					hints[n] = st.Stats.HintsPending
				}
			}
			return hints[sy] > 0 && hints[sz] > 0
		})
		var held []string
		for _, n := range []string{sy, sz} {
			held = append(held, fmt.Sprintf("%s holds %d", n, hints[n]))
		}
		t.note("%s missed both writes: they are kept for it as hints (%s).", sx, strings.Join(held, ", "))
	}
	t.say("")

	// The node returns and receives what it missed.
	if failed {
		if err := cl.Recover(sx); err != nil {
			return nil, err
		}
		if err := waitFor(ctx, 15*time.Second, sy+" sees "+sx+" back", func(ctx context.Context) bool {
			return sees(ctx, phone, sy, sx, ring.Up)
		}); err != nil {
			return nil, err
		}
		t.step("..", "%s returns: started again on its data directory, it rejoins the cluster.", sx)
	} else {
		t.step("..", "%s was up all along here: it received D3 and D4 as replica writes.", sx)
	}
	var replica *client.Replica
	if err := waitFor(ctx, 20*time.Second, sx+"'s replica to hold D3 and D4", func(ctx context.Context) bool {
		r, err := phone.ReplicaOf(ctx, sx, key)
		if err != nil {
			return false
		}
		replica = r
		return len(r.Values) == 2
	}); err != nil {
		return nil, err
	}
	if failed {
		var delivered []string
		for _, n := range []string{sy, sz} {
			if st, err := phone.Status(ctx, n); err == nil && st.Stats.HintsDelivered > 0 {
				delivered = append(delivered, fmt.Sprintf("%s delivered %d", n, st.Stats.HintsDelivered))
			}
		}
		if len(delivered) > 0 {
			t.note("Hinted handoff delivers the missed writes (%s): %s's own", strings.Join(delivered, ", "), sx)
		} else {
			// Read repair or anti-entropy got there before the hints.
			t.note("Read repair and anti-entropy bring the missed writes back: %s's own", sx)
		}
		t.note("replica of the cart now holds %d versions, D3 and D4.", len(replica.Values))
	} else {
		t.note("%s's own replica of the cart holds %d versions, D3 and D4.", sx, len(replica.Values))
	}
	t.say("")

	// The read: both versions, as siblings, and one context covering them.
	obj, err = phone.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	t.step("read", "The phone reads the cart: %d siblings.", len(obj.Values))
	if err := t.siblings(res, obj.Values, 34, map[string]string{
		string(v3): "D3, version " + w3.version(), string(v4): "D4, version " + w4.version()}); err != nil {
		return nil, err
	}
	t.note("context:   %s, covering both", versionOf(obj.Context))
	if len(obj.Values) != 2 {
		return res, fmt.Errorf("cart: the read returned %d siblings, want 2 (D3 and D4)", len(obj.Values))
	}

	// D5: the merge, written with the read's context, through Sx.
	merged := crdt.ORSetFromSiblings(obj.Values)
	ctx5, err := phone.PutVia(ctx, sx, key, merged.Encode(), obj.Context)
	if err != nil {
		return nil, fmt.Errorf("cart: D5: %w", err)
	}
	t.step("D5", "The phone merges the siblings (an observed-remove set: every add is kept,")
	t.note("removes seen are honoured) and writes the merge with the read's context,")
	t.note("through %s. The context covers D3 and D4, so D5 replaces both.", sx)
	w5 := writeOf(sx, obj.Context, ctx5)
	t.note("version %s  cart %s", w5.version(), cartString(merged.Elements()))
	if c5, c2 := w5.dot, w2.dot; c5 > c2+1 && failed {
		t.note("(%s's counter jumped from %d to %d: a restarted node resumes after the", sx, c2, c5)
		t.note("counters it reserved on disk, so it never reuses one.)")
	}

	obj, err = readMerged(ctx, phone, key, res)
	if err != nil {
		return res, err
	}
	t.step("read", "One cart: %s, version %s.", cartString(res.Merged), versionOf(obj.Context))
	t.note("Every add is kept: %s.", strings.Join(res.Added, ", "))
	t.say("")
	return res, nil
}

// sameCoordinator: two clients read the cart, then both write it at once
// through the same coordinator with the same context.
func sameCoordinator(ctx context.Context, out io.Writer, alice, bob *client.Client, key []byte) (*Result, error) {
	t := teller{out}
	res := &Result{}
	pref, _, err := replicasOf(ctx, alice, key)
	if err != nil {
		return nil, err
	}
	coord := pref[0]
	t.say("Scenario 2: two clients write the same cart through the same coordinator at once")
	t.say("")

	// A cart with one item to start from, written with the Update helper.
	var addErr error
	if _, err := alice.Update(ctx, key, crdt.UpdateORSet(func(s *crdt.ORSet) {
		_, addErr = s.Add("alice", "eggs")
	})); err != nil {
		return nil, err
	}
	if addErr != nil {
		return nil, addErr
	}
	res.Added = append(res.Added, "eggs")
	t.step("1", "Alice starts a shared cart with eggs (client.Update with crdt.UpdateORSet).")

	objA, err := alice.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	objB, err := bob.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	t.step("2", "Alice and Bob, each with a client of their own, read it: same cart, same")
	t.note("context %s.", versionOf(objA.Context))

	cartA := crdt.ORSetFromSiblings(objA.Values)
	va, err := addTo(cartA, "alice", "coffee")
	if err != nil {
		return nil, err
	}
	cartB := crdt.ORSetFromSiblings(objB.Values)
	vb, err := addTo(cartB, "bob", "tea")
	if err != nil {
		return nil, err
	}
	// Both writes leave together: a barrier releases them at once.
	var wg sync.WaitGroup
	var ctxA, ctxB client.Context
	var errA, errB error
	start := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		<-start
		ctxA, errA = alice.PutVia(ctx, coord, key, va, objA.Context)
	}()
	go func() {
		defer wg.Done()
		<-start
		ctxB, errB = bob.PutVia(ctx, coord, key, vb, objB.Context)
	}()
	close(start)
	wg.Wait()
	if errA != nil || errB != nil {
		return nil, fmt.Errorf("cart: concurrent writes: alice: %v; bob: %v", errA, errB)
	}
	res.Added = append(res.Added, "coffee", "tea")
	t.step("3", "At the same moment Alice adds coffee and Bob adds tea, both through %s,", coord)
	t.note("both with that context.")
	wa, wb := writeOf(coord, objA.Context, ctxA), writeOf(coord, objB.Context, ctxB)
	t.note("Alice's write: %s  cart %s", wa.dvv(), cartString(cartA.Elements()))
	t.note("Bob's write:   %s  cart %s", wb.dvv(), cartString(cartB.Elements()))
	t.note("One coordinator gave the two writes consecutive counters. A plain vector")
	t.note("clock would take the second for a successor of the first and drop the")
	t.note("first. dynamo's dotted version vectors also remember what each client had")
	t.note("seen (the context): neither write saw the other, so both stay.")

	obj, err := alice.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	t.step("4", "A read returns %d siblings:", len(obj.Values))
	if err := t.siblings(res, obj.Values, 24, map[string]string{
		string(va): "Alice's, " + wa.dvv(), string(vb): "Bob's, " + wb.dvv()}); err != nil {
		return nil, err
	}
	if len(obj.Values) != 2 {
		return res, fmt.Errorf("cart: the read returned %d siblings, want 2 (both writes)", len(obj.Values))
	}

	ctxM, err := alice.Update(ctx, key, crdt.MergeORSets)
	if err != nil {
		return nil, err
	}
	t.step("5", "client.Update(ctx, key, crdt.MergeORSets) reads the siblings, merges them and")
	t.note("writes the merge with the read's context: version %s.", versionOf(ctxM))

	if _, err = readMerged(ctx, bob, key, res); err != nil {
		return res, err
	}
	t.step("6", "Bob reads one cart: %s. Both adds survived.", cartString(res.Merged))
	t.say("")
	return res, nil
}

// missing returns the items of want not in got.
func missing(want, got []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, w)
		}
	}
	return out
}
