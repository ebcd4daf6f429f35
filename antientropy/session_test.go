package antientropy_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/antientropy"
	"github.com/dynamokv/dynamo/internal/testseed"
	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
)

// ---------------------------------------------------------------------------
// An in-memory replica of one partition and a shell that drives a Session.
// ---------------------------------------------------------------------------

// ringQ is the ring size used to place keys: a key's segment is the 16 bits
// of its MD5 that follow the partition bits, as on a real node.
const ringQ = 64

const numSegments = 1 << merkle.SegmentBits

func segOf(key string) uint32 { return uint32(ring.SegmentOf(ring.HashKey([]byte(key)), ringQ)) }

func digestOf(s *version.Set) []byte {
	d := version.Digest(s)
	return d[:]
}

// replica is one partition replica: key -> version set, a Merkle tree kept
// up to date by put, and an index of keys by segment for range listings.
type replica struct {
	data map[string]*version.Set
	segs [][]string // numSegments buckets; shared between clones, copied on write
	tree *merkle.Tree
	// storageOrder lists by segment, then key (as a vnode's store does)
	// instead of by key.
	storageOrder bool
}

func newReplica(tb testing.TB, cfg merkle.Config) *replica {
	tb.Helper()
	tr, err := merkle.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return &replica{data: map[string]*version.Set{}, segs: make([][]string, numSegments), tree: tr}
}

// bulkReplica builds a replica holding every key of keys with the set s,
// its tree with merkle.Build (a full scan).
func bulkReplica(tb testing.TB, cfg merkle.Config, keys []string, s *version.Set) *replica {
	tb.Helper()
	r := &replica{data: make(map[string]*version.Set, len(keys)), segs: make([][]string, numSegments)}
	d := digestOf(s)
	tr, err := merkle.Build(cfg, func(yield func(uint32, []byte, []byte) bool) {
		for _, k := range keys {
			seg := segOf(k)
			r.data[k] = s
			r.segs[seg] = append(r.segs[seg], k)
			if !yield(seg, []byte(k), d) {
				return
			}
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	r.tree = tr
	return r
}

func (r *replica) clone() *replica {
	return &replica{data: maps.Clone(r.data), segs: slices.Clone(r.segs), tree: r.tree.Clone(), storageOrder: r.storageOrder}
}

// put stores s under key (as a write of the merged set would) and reports
// whether the replica changed. Keys are never removed (deletes are
// tombstones).
func (r *replica) put(key string, s *version.Set) bool {
	seg := segOf(key)
	old, had := r.data[key]
	var od []byte
	if had {
		od = digestOf(old)
	}
	nd := digestOf(s)
	if had && bytes.Equal(od, nd) {
		return false
	}
	if !had {
		// Clip: the bucket may be shared with a clone.
		r.segs[seg] = append(slices.Clip(r.segs[seg]), key)
	}
	r.data[key] = s
	r.tree.Update(seg, []byte(key), od, nd)
	return true
}

// list returns (key, digest) of the keys in rg, ascending by key (or in
// storage order), in fresh buffers.
func (r *replica) list(rg merkle.SegmentRange) []merkle.KeyDigest {
	var keys []string
	for s := uint64(rg.First); s <= uint64(rg.Last) && s < numSegments; s++ {
		from := len(keys)
		keys = append(keys, r.segs[s]...)
		if r.storageOrder {
			slices.Sort(keys[from:])
		}
	}
	if !r.storageOrder {
		slices.Sort(keys)
	}
	out := make([]merkle.KeyDigest, len(keys))
	for i, k := range keys {
		out[i] = merkle.KeyDigest{Key: []byte(k), Digest: digestOf(r.data[k])}
	}
	return out
}

// checkTree fails unless r's incrementally kept tree equals a full rebuild
// from its data (guards the shell's own bookkeeping).
func (r *replica) checkTree(tb testing.TB, name string) {
	tb.Helper()
	full, err := merkle.Build(r.tree.Config(), func(yield func(uint32, []byte, []byte) bool) {
		for k, s := range r.data {
			if !yield(segOf(k), []byte(k), digestOf(s)) {
				return
			}
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	if full.Root() != r.tree.Root() || full.Count() != r.tree.Count() || r.tree.Count() != len(r.data) {
		tb.Fatalf("%s: tree (root %x, count %d) does not match its data (root %x, %d keys)",
			name, r.tree.Root(), r.tree.Count(), full.Root(), len(r.data))
	}
}

// trace records what a driven session asked for.
type trace struct {
	asks, listings, batches int
	batchSizes              []int
	repaired                map[string]bool
	ranges                  []merkle.SegmentRange
}

// drive runs s (over a clone of local's tree) to completion against remote,
// carrying out every action as a node's shell would, and checks each action
// on the way: Next is idempotent, listings respect ListSegments, batches
// respect RepairBatch, repairs are ascending within a listing, lie in the
// listed range, are never repeated and have read flags that match which
// sides hold the key.
func drive(tb testing.TB, s *antientropy.Session, cfg antientropy.Config, local, remote *replica) (antientropy.Stats, trace) {
	tb.Helper()
	tr := trace{repaired: map[string]bool{}}
	var cur merkle.SegmentRange
	var lastKey []byte // last repaired key of the current listing
	for step := 0; ; step++ {
		if step > 10_000_000 {
			tb.Fatal("session does not finish")
		}
		a := s.Next()
		if b := s.Next(); !reflect.DeepEqual(a, b) {
			tb.Fatalf("Next is not idempotent: %+v then %+v", a, b)
		}
		if a.Kind != antientropy.Finished && s.Done() {
			tb.Fatalf("Done() is true while the session asks for %v", a.Kind)
		}
		switch a.Kind {
		case antientropy.AskHashes:
			tr.asks++
			if err := s.StepHashes(remote.tree.Answer(a.Hashes)); err != nil {
				tb.Fatalf("StepHashes(%+v): %v", a.Hashes, err)
			}
		case antientropy.ListKeys:
			tr.listings++
			r := a.Range
			if r.First > r.Last || r.Last >= numSegments || int(r.Last-r.First)+1 > cfg.ListSegments {
				tb.Fatalf("listing range %+v: not within the segment space or wider than ListSegments %d", r, cfg.ListSegments)
			}
			if n := len(tr.ranges); n > 0 && tr.ranges[n-1].Last >= r.First {
				tb.Fatalf("listing range %+v does not follow %+v", r, tr.ranges[n-1])
			}
			tr.ranges = append(tr.ranges, r)
			cur, lastKey = r, nil
			if err := s.StepKeys(local.list(r), remote.list(r)); err != nil {
				tb.Fatalf("StepKeys(%+v): %v", r, err)
			}
		case antientropy.RepairKeys:
			tr.batches++
			tr.batchSizes = append(tr.batchSizes, len(a.Repairs))
			if len(a.Repairs) == 0 || len(a.Repairs) > cfg.RepairBatch {
				tb.Fatalf("repair batch of %d, want 1..%d", len(a.Repairs), cfg.RepairBatch)
			}
			changed := 0
			for _, rp := range a.Repairs {
				key := string(rp.Key)
				if lastKey != nil && bytes.Compare(lastKey, rp.Key) >= 0 {
					tb.Fatalf("repairs not ascending: %q then %q", lastKey, rp.Key)
				}
				lastKey = bytes.Clone(rp.Key)
				if !cur.Contains(segOf(key)) {
					tb.Fatalf("repair of %q (segment %d) outside the listed range %+v", key, segOf(key), cur)
				}
				if tr.repaired[key] {
					tb.Fatalf("key %q repaired twice", key)
				}
				tr.repaired[key] = true
				l, inL := local.data[key]
				r, inR := remote.data[key]
				if rp.ReadLocal != inL || rp.ReadRemote != inR {
					tb.Fatalf("repair %q reads local=%v remote=%v, but local holds it: %v, remote: %v",
						key, rp.ReadLocal, rp.ReadRemote, inL, inR)
				}
				if inL && inR && bytes.Equal(digestOf(l), digestOf(r)) {
					tb.Fatalf("repair of %q whose replicas are identical", key)
				}
				var rl, rr *version.Set
				if rp.ReadLocal {
					rl = l
				}
				if rp.ReadRemote {
					rr = r
				}
				merged, wl, wr := antientropy.Resolve(rl, rr, [2]bool{}, antientropy.Reclaim{})
				if wl && local.put(key, merged) {
					changed++
				}
				if wr && remote.put(key, merged) {
					changed++
				}
			}
			if err := s.StepRepaired(changed); err != nil {
				tb.Fatalf("StepRepaired: %v", err)
			}
		case antientropy.Finished:
			if !s.Done() {
				tb.Fatal("Next is Finished but Done() is false")
			}
			st := s.Stats()
			if st.Listings != tr.listings {
				tb.Fatalf("Stats.Listings = %d, the shell made %d", st.Listings, tr.listings)
			}
			if st.Tree.RoundTrips != tr.asks {
				tb.Fatalf("Stats.Tree.RoundTrips = %d, the shell answered %d", st.Tree.RoundTrips, tr.asks)
			}
			return st, tr
		default:
			tb.Fatalf("unknown action %+v", a)
		}
	}
}

// ---------------------------------------------------------------------------
// 1. Randomized end-to-end convergence.
// ---------------------------------------------------------------------------

// keysInPartition returns n distinct keys of partition p (of ringQ).
func keysInPartition(p uint32, n int, prefix string) []string {
	var out []string
	buf := []byte(prefix)
	for i := 0; len(out) < n; i++ {
		buf = strconv.AppendInt(buf[:len(prefix)], int64(i), 10)
		if ring.PartitionOf(ring.HashKey(buf), ringQ) == p {
			out = append(out, string(buf))
		}
	}
	return out
}

// history generates one key's state on two replicas L and R (actors "L" and
// "R" coordinate only there) and a third replica C (actor "C") whose writes
// reach L and/or R by replication: blind and read-modify-write writes, reads
// from the other replica, tombstones, and partial replication.
type history struct {
	rng *rand.Rand
	now int64
}

func (h *history) write(tb testing.TB, local *version.Set, ctx version.Context, actor string, tomb bool) *version.Set {
	tb.Helper()
	h.now++
	w := version.Write{Timestamp: h.now * 1000, Tombstone: tomb}
	if !tomb {
		w.Value = fmt.Appendf(nil, "%s@%d", actor, h.now)
	}
	s, err := version.Update(local, ctx, w, actor, h.now)
	if err != nil {
		tb.Fatalf("version.Update: %v", err)
	}
	return s
}

func (h *history) ctx(own, other *version.Set) version.Context {
	switch h.rng.IntN(3) {
	case 0:
		return own.Context() // read-modify-write
	case 1:
		return version.Context{} // blind write
	default:
		return other.Context() // the client read the other replica
	}
}

func (h *history) key(tb testing.TB) (l, r *version.Set) {
	var c *version.Set
	for range 1 + h.rng.IntN(6) {
		switch h.rng.IntN(9) {
		case 0, 1:
			l = h.write(tb, l, h.ctx(l, r), "L", false)
		case 2, 3:
			r = h.write(tb, r, h.ctx(r, l), "R", false)
		case 4:
			c = h.write(tb, c, c.Context(), "C", false)
			switch h.rng.IntN(3) {
			case 0:
				l = version.Sync(l, c)
			case 1:
				r = version.Sync(r, c)
			default:
				l, r = version.Sync(l, c), version.Sync(r, c)
			}
		case 5:
			r = version.Sync(r, l) // replication L -> R
		case 6:
			l = version.Sync(l, r) // replication R -> L
		case 7:
			l = h.write(tb, l, l.Context(), "L", true) // delete at L
		case 8:
			r = h.write(tb, r, r.Context(), "R", true) // delete at R
		}
	}
	if h.rng.IntN(3) == 0 { // replication completed: identical replicas
		m := version.Sync(l, r)
		l, r = m, m
	}
	if l.IsEmpty() {
		l = nil
	}
	if r.IsEmpty() {
		r = nil
	}
	return l, r
}

// checkConvergence drives a session of local against remote and checks that
// the replicas end identical without losing any write, that the session's
// figures are right, and that a second session finds nothing to do.
func checkConvergence(t *testing.T, tcfg merkle.Config, cfg antientropy.Config, local, remote *replica) antientropy.Stats {
	t.Helper()
	origL, origR := maps.Clone(local.data), maps.Clone(remote.data)
	union := maps.Clone(origL)
	maps.Copy(union, origR)
	wantRepairs, wantChanged := 0, 0
	wantSegs := map[uint32]bool{}
	for k := range union {
		l, r := origL[k], origR[k]
		if l != nil && r != nil && bytes.Equal(digestOf(l), digestOf(r)) {
			continue
		}
		wantRepairs++
		wantSegs[segOf(k)] = true
		m := digestOf(version.Sync(l, r))
		if l == nil || !bytes.Equal(digestOf(l), m) {
			wantChanged++
		}
		if r == nil || !bytes.Equal(digestOf(r), m) {
			wantChanged++
		}
	}
	rootsEqual := local.tree.Root() == remote.tree.Root()
	if rootsEqual != (wantRepairs == 0) {
		t.Fatalf("test setup: roots equal %v with %d differing keys", rootsEqual, wantRepairs)
	}

	s := antientropy.NewSession(local.tree.Clone(), cfg)
	st, tr := drive(t, s, cfg, local, remote)
	t.Logf("%d+%d keys, %d differing, tree %+v, cfg %+v: %d round trips, %d differing segments, %d listings, %d batches, %d changed",
		len(origL), len(origR), wantRepairs, tcfg, cfg, st.Tree.RoundTrips, st.DifferingSegments, st.Listings, tr.batches, st.Changed)

	// The replicas are identical, and their trees agree with their data.
	local.checkTree(t, "local")
	remote.checkTree(t, "remote")
	if !slices.Equal(slices.Sorted(maps.Keys(local.data)), slices.Sorted(maps.Keys(remote.data))) {
		t.Fatalf("key sets differ after the session: local %d keys, remote %d", len(local.data), len(remote.data))
	}
	for k, l := range local.data {
		if !bytes.Equal(digestOf(l), digestOf(remote.data[k])) {
			t.Fatalf("key %q differs after the session:\nlocal  %+v\nremote %+v", k, l, remote.data[k])
		}
	}
	if local.tree.Root() != remote.tree.Root() {
		t.Fatalf("roots differ after the session: %x vs %x", local.tree.Root(), remote.tree.Root())
	}
	if len(local.data) != len(union) {
		t.Fatalf("%d keys after the session, %d before (union)", len(local.data), len(union))
	}

	// No write is lost: the merged set descends both originals, equals
	// their merge, and keeps every sibling the other side had not seen.
	for k := range union {
		m, ol, or := local.data[k], origL[k], origR[k]
		if !version.Descends(m, ol) || !version.Descends(m, or) {
			t.Fatalf("key %q: merged %+v does not descend both originals\nlocal  %+v\nremote %+v", k, m, ol, or)
		}
		if !version.Equal(m, version.Sync(ol, or)) {
			t.Fatalf("key %q: merged %+v is not the merge of the originals", k, m)
		}
		for _, pair := range [][2]*version.Set{{ol, or}, {or, ol}} {
			mine, theirs := pair[0], pair[1]
			for _, sib := range mine.Siblings() {
				if theirs.Clock().Covers(sib.Dot) {
					continue // the other side has seen it (and maybe superseded it)
				}
				if !slices.ContainsFunc(m.Siblings(), func(x version.Sibling) bool {
					return x.Dot == sib.Dot && x.Tombstone == sib.Tombstone && bytes.Equal(x.Value, sib.Value)
				}) {
					t.Fatalf("key %q: sibling %+v lost by the repair (merged %+v)", k, sib, m)
				}
			}
		}
	}

	// The session's figures.
	if st.Identical != (wantRepairs == 0) {
		t.Fatalf("Stats.Identical = %v with %d differing keys", st.Identical, wantRepairs)
	}
	if st.Repairs != wantRepairs || len(tr.repaired) != wantRepairs {
		t.Fatalf("Stats.Repairs = %d, repaired %d keys, want %d", st.Repairs, len(tr.repaired), wantRepairs)
	}
	if st.Changed != wantChanged {
		t.Fatalf("Stats.Changed = %d, want %d", st.Changed, wantChanged)
	}
	if st.Tree.RoundTrips < 1 || st.Tree.RoundTrips > tcfg.Depth+1 {
		t.Fatalf("%d round trips, want 1..%d", st.Tree.RoundTrips, tcfg.Depth+1)
	}
	if (st.DifferingSegments > 0) != (wantRepairs > 0) {
		t.Fatalf("%d differing segments with %d differing keys", st.DifferingSegments, wantRepairs)
	}
	covered := 0
	for _, r := range tr.ranges {
		covered += int(r.Last-r.First) + 1
	}
	if covered != st.DifferingSegments {
		t.Fatalf("listings cover %d segments, Stats.DifferingSegments = %d", covered, st.DifferingSegments)
	}
	for seg := range wantSegs {
		if !slices.ContainsFunc(tr.ranges, func(r merkle.SegmentRange) bool { return r.Contains(seg) }) {
			t.Fatalf("segment %d holds a differing key but was never listed (%v)", seg, tr.ranges)
		}
	}
	var onlyL, onlyR int
	for k := range union {
		if origR[k] == nil {
			onlyL++
		}
		if origL[k] == nil {
			onlyR++
		}
	}
	if st.LocalKeys < wantRepairs-onlyR || st.LocalKeys > len(origL) || st.RemoteKeys < wantRepairs-onlyL || st.RemoteKeys > len(origR) {
		t.Fatalf("listed %d local / %d remote keys: impossible with %d/%d keys and %d differing (%d only local, %d only remote)",
			st.LocalKeys, st.RemoteKeys, len(origL), len(origR), wantRepairs, onlyL, onlyR)
	}
	if st.RemoteKeys > 0 && st.ListBytes <= st.RemoteKeys*32 {
		t.Fatalf("ListBytes %d for %d remote keys with 32-byte digests", st.ListBytes, st.RemoteKeys)
	}

	// A second session, from either side, finds the replicas identical.
	for _, dir := range []struct {
		name string
		a, b *replica
	}{{"again", local, remote}, {"again, reversed", remote, local}} {
		st2, tr2 := drive(t, antientropy.NewSession(dir.a.tree.Clone(), cfg), cfg, dir.a, dir.b)
		if !st2.Identical || st2.Repairs != 0 || st2.Tree.RoundTrips != 1 || tr2.asks != 1 ||
			st2.Listings != 0 || st2.Changed != 0 || st2.DifferingSegments != 0 {
			t.Fatalf("%s: second session %+v (trace %+v), want identical after one round trip", dir.name, st2, tr2)
		}
	}
	return st
}

var (
	treeConfigs = []merkle.Config{
		merkle.DefaultConfig(),
		{Depth: 1, FanoutBits: 1},
		{Depth: 2, FanoutBits: 8},
		{Depth: 4, FanoutBits: 4},
		{Depth: 5, FanoutBits: 3},
		{Depth: 6, FanoutBits: 2},
	}
	listSegmentChoices = []int{1, 3, 16, 100, 1024, 4096, 65536}
)

func TestRandomHistoriesConverge(t *testing.T) {
	rng, _ := testseed.New(t)
	iters := 60
	if testing.Short() {
		iters = 15
	}
	for it := range iters {
		tcfg := treeConfigs[rng.IntN(len(treeConfigs))]
		cfg := antientropy.Config{
			ListSegments: listSegmentChoices[rng.IntN(len(listSegmentChoices))],
			RepairBatch:  1 + rng.IntN(12),
		}
		if cfg.ListSegments < 16 && tcfg.Depth*tcfg.FanoutBits < 12 {
			cfg.ListSegments = 16 // keep the number of listings small
		}
		p := uint32(rng.IntN(ringQ))
		n := rng.IntN(250)
		mode := rng.IntN(10) // 0: remote empty, 1: local empty, 2: identical, else mixed
		h := &history{rng: rng}
		local, remote := newReplica(t, tcfg), newReplica(t, tcfg)
		local.storageOrder, remote.storageOrder = rng.IntN(2) == 0, rng.IntN(2) == 0
		for _, k := range keysInPartition(p, n, fmt.Sprintf("i%d-", it)) {
			l, r := h.key(t)
			switch mode {
			case 0:
				r = nil
			case 1:
				l = nil
			case 2:
				l = version.Sync(l, r)
				if l.IsEmpty() {
					l = nil
				}
				r = l
			}
			if l != nil {
				local.put(k, l)
			}
			if r != nil {
				remote.put(k, r)
			}
		}
		ok := t.Run(fmt.Sprintf("iter%d", it), func(t *testing.T) {
			checkConvergence(t, tcfg, cfg, local, remote)
		})
		if !ok {
			return
		}
	}
}

// Hand-picked corners of the end-to-end test.
func TestConvergenceCorners(t *testing.T) {
	val := func(actor, v string) *version.Set {
		s, err := version.Update(nil, version.Context{}, version.Write{Value: []byte(v), Timestamp: 1}, actor, 1)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	keys := keysInPartition(5, 300, "corner-")
	cfg := antientropy.Config{ListSegments: 1024, RepairBatch: 7}
	tcfg := merkle.DefaultConfig()
	t.Run("both empty", func(t *testing.T) {
		st := checkConvergence(t, tcfg, cfg, newReplica(t, tcfg), newReplica(t, tcfg))
		if !st.Identical || st.Tree.Bytes() >= 100 {
			t.Fatalf("empty replicas: %+v", st)
		}
	})
	t.Run("remote empty", func(t *testing.T) {
		l, r := newReplica(t, tcfg), newReplica(t, tcfg)
		for _, k := range keys {
			l.put(k, val("L", k))
		}
		st := checkConvergence(t, tcfg, cfg, l, r)
		// The remote root is zero: every non-empty local leaf differs
		// without further questions.
		if st.Tree.RoundTrips != 1 || st.Identical || st.Repairs != len(keys) || st.Changed != len(keys) {
			t.Fatalf("remote empty: %+v", st)
		}
	})
	t.Run("local empty", func(t *testing.T) {
		l, r := newReplica(t, tcfg), newReplica(t, tcfg)
		for _, k := range keys {
			r.put(k, val("R", k))
		}
		st := checkConvergence(t, tcfg, cfg, l, r)
		if st.Identical || st.Repairs != len(keys) || st.Changed != len(keys) || st.LocalKeys != 0 || st.RemoteKeys != len(keys) {
			t.Fatalf("local empty: %+v", st)
		}
	})
	t.Run("all concurrent", func(t *testing.T) {
		l, r := newReplica(t, tcfg), newReplica(t, tcfg)
		for _, k := range keys {
			l.put(k, val("L", "l"+k))
			r.put(k, val("R", "r"+k))
		}
		st := checkConvergence(t, tcfg, cfg, l, r)
		if st.Repairs != len(keys) || st.Changed != 2*len(keys) {
			t.Fatalf("all concurrent: %+v", st)
		}
		for _, k := range keys {
			if n := l.data[k].Len(); n != 2 {
				t.Fatalf("key %q has %d siblings after the repair, want both writes", k, n)
			}
		}
	})
	t.Run("remote stale", func(t *testing.T) {
		l, r := newReplica(t, tcfg), newReplica(t, tcfg)
		for _, k := range keys {
			old := val("L", "old")
			r.put(k, old)
			s, err := version.Update(old, old.Context(), version.Write{Tombstone: true, Timestamp: 2}, "L", 2)
			if err != nil {
				t.Fatal(err)
			}
			l.put(k, s)
		}
		st := checkConvergence(t, tcfg, cfg, l, r)
		if st.Repairs != len(keys) || st.Changed != len(keys) {
			t.Fatalf("remote stale: %+v", st)
		}
		for _, k := range keys {
			if !isTomb(r.data[k]) {
				t.Fatalf("key %q: the delete did not reach the remote: %+v", k, r.data[k])
			}
		}
	})
}

// ---------------------------------------------------------------------------
// 2. Cost: grows with the differences, not with the keys.
// ---------------------------------------------------------------------------

func TestCostGrowsWithDifferencesNotKeys(t *testing.T) {
	const n = 100_000
	rng, _ := testseed.New(t)
	base, err := version.Update(nil, version.Context{}, version.Write{Value: []byte("v0"), Timestamp: 1}, "a", 1)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, n)
	naive := 0 // listing every key with its digest, as ListBytes counts
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%08d", i)
		naive += len(keys[i]) + 32 + 4
	}
	tcfg := merkle.DefaultConfig()
	cfg := antientropy.DefaultConfig()
	orig := bulkReplica(t, tcfg, keys, base)

	t.Run("identical", func(t *testing.T) {
		local, remote := orig.clone(), orig.clone()
		st, tr := drive(t, antientropy.NewSession(local.tree.Clone(), cfg), cfg, local, remote)
		t.Logf("identical, %d keys: %d round trip(s), tree %d bytes, list %d bytes", n, st.Tree.RoundTrips, st.Tree.Bytes(), st.ListBytes)
		if !st.Identical || tr.asks != 1 || st.Tree.RoundTrips != 1 || st.Tree.Bytes() >= 100 ||
			st.Listings != 0 || st.ListBytes != 0 || st.Repairs != 0 {
			t.Fatalf("identical replicas of %d keys: %+v", n, st)
		}
	})

	totals := map[int]int{}
	for _, k := range []int{1, 10, 100} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			local, remote := orig.clone(), orig.clone()
			// k differences of every kind, on distinct keys.
			for i, ki := range rng.Perm(n)[:k] {
				key := keys[ki]
				switch i % 5 {
				case 0: // concurrent writes
					l, err1 := version.Update(base, base.Context(), version.Write{Value: []byte("l"), Timestamp: 2}, "a", 2)
					r, err2 := version.Update(base, base.Context(), version.Write{Value: []byte("r"), Timestamp: 2}, "b", 2)
					if err := errors.Join(err1, err2); err != nil {
						t.Fatal(err)
					}
					local.put(key, l)
					remote.put(key, r)
				case 1: // remote newer
					r, err := version.Update(base, base.Context(), version.Write{Value: []byte("r"), Timestamp: 2}, "b", 2)
					if err != nil {
						t.Fatal(err)
					}
					remote.put(key, r)
				case 2: // local deleted
					l, err := version.Update(base, base.Context(), version.Write{Tombstone: true, Timestamp: 2}, "a", 2)
					if err != nil {
						t.Fatal(err)
					}
					local.put(key, l)
				case 3: // new key only local
					local.put(key+"-new", base)
				case 4: // new key only remote
					remote.put(key+"-new", base)
				}
			}
			st, _ := drive(t, antientropy.NewSession(local.tree.Clone(), cfg), cfg, local, remote)
			total := st.Tree.Bytes() + st.ListBytes
			totals[k] = total
			t.Logf("k=%d differing of %d keys: %d round trips, tree %d bytes, %d differing segments, %d listings "+
				"(%d local / %d remote keys), list %d bytes, total %d bytes (%.2f%% of listing everything, %d bytes); %d repairs, %d writes",
				k, n, st.Tree.RoundTrips, st.Tree.Bytes(), st.DifferingSegments, st.Listings,
				st.LocalKeys, st.RemoteKeys, st.ListBytes, total, 100*float64(total)/float64(naive), naive, st.Repairs, st.Changed)
			if st.Repairs != k {
				t.Fatalf("%d repairs, want %d", st.Repairs, k)
			}
			if local.tree.Root() != remote.tree.Root() {
				t.Fatal("replicas still differ after the session")
			}
			st2, _ := drive(t, antientropy.NewSession(local.tree.Clone(), cfg), cfg, local, remote)
			if !st2.Identical || st2.Repairs != 0 {
				t.Fatalf("second session: %+v", st2)
			}
			// Bounds from measurements (k=1: ~2.5 KB, k=10: ~19 KB,
			// k=100: ~159 KB) with a wide margin; listing every key would
			// cost about 4.8 MB.
			limit := map[int]int{1: 8 << 10, 10: 64 << 10, 100: 512 << 10}[k]
			if total > limit {
				t.Fatalf("k=%d: %d bytes, want under %d", k, total, limit)
			}
			// Per differing key: a few leaves' worth of tree hashes and
			// one 16-segment leaf listing (~25 keys), nowhere near n.
			if per := total / k; per > 4<<10 {
				t.Fatalf("k=%d: %d bytes per differing key", k, per)
			}
		})
	}
	if totals[1] > 0 && totals[100] > 0 && totals[100] >= 100*totals[1]*2 {
		t.Fatalf("cost superlinear in k: %v", totals)
	}
}

// ---------------------------------------------------------------------------
// 3. Split.
// ---------------------------------------------------------------------------

func checkSplit(t *testing.T, r merkle.SegmentRange, width int) {
	t.Helper()
	out := antientropy.Split(r, width)
	n := uint64(r.Last-r.First) + 1
	want := (n + uint64(width) - 1) / uint64(width)
	if uint64(len(out)) != want {
		t.Fatalf("Split(%+v, %d): %d pieces, want %d", r, width, len(out), want)
	}
	if out[0].First != r.First || out[len(out)-1].Last != r.Last {
		t.Fatalf("Split(%+v, %d) = %v does not span the range", r, width, out)
	}
	for i, p := range out {
		if p.First > p.Last {
			t.Fatalf("Split(%+v, %d): empty piece %+v", r, width, p)
		}
		if w := uint64(p.Last-p.First) + 1; w > uint64(width) || (i < len(out)-1 && w != uint64(width)) {
			t.Fatalf("Split(%+v, %d): piece %d %+v is %d wide", r, width, i, p, w)
		}
		if i > 0 && p.First != out[i-1].Last+1 {
			t.Fatalf("Split(%+v, %d): piece %+v does not follow %+v", r, width, p, out[i-1])
		}
	}
}

func sr(first, last uint32) merkle.SegmentRange { return merkle.SegmentRange{First: first, Last: last} }

func TestSplit(t *testing.T) {
	// Exhaustive over a small space.
	for first := uint32(0); first < 40; first++ {
		for last := first; last < 40; last++ {
			for width := 1; width <= 45; width++ {
				checkSplit(t, merkle.SegmentRange{First: first, Last: last}, width)
			}
		}
	}
	// Edges of the segment space, and widths around the defaults.
	full := merkle.SegmentRange{First: 0, Last: numSegments - 1}
	for _, r := range []merkle.SegmentRange{full, sr(0, 0), sr(65535, 65535), sr(1, 65534), sr(16, 31), sr(65520, 65535), sr(1000, 3071)} {
		for _, w := range []int{1, 2, 3, 15, 16, 17, 1023, 1024, 1025, 65535, 65536, 65537, math.MaxInt32, math.MaxInt} {
			checkSplit(t, r, w)
		}
	}
	if got := antientropy.Split(full, 1); len(got) != numSegments || got[12345] != (merkle.SegmentRange{First: 12345, Last: 12345}) {
		t.Fatalf("Split(full, 1): %d pieces", len(got))
	}
	if got := antientropy.Split(full, 1024); len(got) != 64 || got[1] != (merkle.SegmentRange{First: 1024, Last: 2047}) {
		t.Fatalf("Split(full, 1024) = %v", got)
	}
	if got := antientropy.Split(merkle.SegmentRange{First: 7, Last: 9}, 100); !slices.Equal(got, []merkle.SegmentRange{sr(7, 9)}) {
		t.Fatalf("Split wider than the range = %v", got)
	}
	// Invalid input.
	for _, w := range []int{0, -1, math.MinInt} {
		if got := antientropy.Split(full, w); got != nil {
			t.Fatalf("Split(full, %d) = %v, want nil", w, got)
		}
	}
	for _, r := range []merkle.SegmentRange{sr(1, 0), sr(65535, 0), sr(math.MaxUint32, 5)} {
		if got := antientropy.Split(r, 16); got != nil {
			t.Fatalf("Split(%+v, 16) = %v, want nil", r, got)
		}
	}
}

// ---------------------------------------------------------------------------
// 4. Plan.
// ---------------------------------------------------------------------------

func kds(pairs ...string) []merkle.KeyDigest {
	var out []merkle.KeyDigest
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, merkle.KeyDigest{Key: []byte(pairs[i]), Digest: []byte(pairs[i+1])})
	}
	return out
}

func TestPlan(t *testing.T) {
	local := kds("a", "1", "c", "1", "d", "1", "f", "1", "h", "", "z", "1")
	remote := kds("b", "1", "c", "1", "d", "2", "e", "1", "g", "1", "h", "x", "z", "1")
	got, err := antientropy.Plan(local, remote)
	if err != nil {
		t.Fatal(err)
	}
	want := []antientropy.Repair{
		{Key: []byte("a"), ReadLocal: true},
		{Key: []byte("b"), ReadRemote: true},
		{Key: []byte("d"), ReadLocal: true, ReadRemote: true},
		{Key: []byte("e"), ReadRemote: true},
		{Key: []byte("f"), ReadLocal: true},
		{Key: []byte("g"), ReadRemote: true},
		{Key: []byte("h"), ReadLocal: true, ReadRemote: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Plan =\n%+v\nwant\n%+v", got, want)
	}

	// Identical and empty listings plan nothing.
	for _, c := range []struct{ l, r []merkle.KeyDigest }{{local, local}, {nil, nil}, {kds(), kds()}} {
		got, err := antientropy.Plan(c.l, c.r)
		if err != nil || len(got) != 0 {
			t.Fatalf("Plan of identical listings = %+v, %v", got, err)
		}
	}
	// One side empty: everything is read from the other.
	if got, _ := antientropy.Plan(nil, remote); len(got) != len(remote) || !got[0].ReadRemote || got[0].ReadLocal {
		t.Fatalf("Plan(nil, remote) = %+v", got)
	}

	// Byte order, not string-with-prefix quirks: "a" < "a\x00" < "ab" < "\xff".
	got, err = antientropy.Plan(kds("a", "1", "ab", "1"), kds("a\x00", "1", "ab", "2", "\xff", "1"))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range got {
		order = append(order, string(r.Key))
	}
	if !slices.Equal(order, []string{"a", "a\x00", "ab", "\xff"}) {
		t.Fatalf("Plan order %q", order)
	}

	// Unsorted or duplicated listings are errors wrapping ErrInvalid.
	for _, c := range []struct {
		name string
		l, r []merkle.KeyDigest
	}{
		{"local unsorted", kds("b", "1", "a", "1"), nil},
		{"remote unsorted", nil, kds("a", "1", "c", "1", "b", "1")},
		{"local duplicate", kds("a", "1", "a", "2"), kds("a", "1")},
		{"remote duplicate", kds("a", "1"), kds("b", "1", "b", "1")},
	} {
		got, err := antientropy.Plan(c.l, c.r)
		if !errors.Is(err, antientropy.ErrInvalid) || got != nil {
			t.Fatalf("%s: Plan = %+v, %v; want nil and ErrInvalid", c.name, got, err)
		}
	}
}

// Plan against a map-based model on random listings.
func TestPlanRandom(t *testing.T) {
	rng, _ := testseed.New(t)
	for range 2000 {
		l, r := map[string]string{}, map[string]string{}
		for range rng.IntN(30) {
			k := fmt.Sprintf("%x", rng.IntN(40)) // short keys, some prefixes of others
			switch rng.IntN(4) {
			case 0:
				l[k] = "1"
			case 1:
				r[k] = "1"
			case 2:
				l[k], r[k] = "1", "1"
			case 3:
				l[k], r[k] = "1", "2"
			}
		}
		list := func(m map[string]string) []merkle.KeyDigest {
			var out []merkle.KeyDigest
			for _, k := range slices.Sorted(maps.Keys(m)) {
				out = append(out, merkle.KeyDigest{Key: []byte(k), Digest: []byte(m[k])})
			}
			return out
		}
		got, err := antientropy.Plan(list(l), list(r))
		if err != nil {
			t.Fatal(err)
		}
		var want []antientropy.Repair
		all := maps.Clone(l)
		maps.Copy(all, r)
		for _, k := range slices.Sorted(maps.Keys(all)) {
			lv, inL := l[k]
			rv, inR := r[k]
			if inL && inR && lv == rv {
				continue
			}
			want = append(want, antientropy.Repair{Key: []byte(k), ReadLocal: inL, ReadRemote: inR})
		}
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("Plan(%v, %v) =\n%+v\nwant\n%+v", l, r, got, want)
		}
	}
}

// ---------------------------------------------------------------------------
// 5. Session protocol.
// ---------------------------------------------------------------------------

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg   antientropy.Config
		field string // "" = valid
	}{
		{antientropy.DefaultConfig(), ""},
		{antientropy.Config{ListSegments: 1, RepairBatch: 1}, ""},
		{antientropy.Config{ListSegments: numSegments, RepairBatch: math.MaxInt}, ""},
		{antientropy.Config{}, "ListSegments"},
		{antientropy.Config{ListSegments: 0, RepairBatch: 64}, "ListSegments"},
		{antientropy.Config{ListSegments: -1, RepairBatch: 64}, "ListSegments"},
		{antientropy.Config{ListSegments: numSegments + 1, RepairBatch: 64}, "ListSegments"},
		{antientropy.Config{ListSegments: 1024, RepairBatch: 0}, "RepairBatch"},
		{antientropy.Config{ListSegments: 1024, RepairBatch: -5}, "RepairBatch"},
	} {
		err := c.cfg.Validate()
		if c.field == "" {
			if err != nil {
				t.Fatalf("%+v: %v", c.cfg, err)
			}
			continue
		}
		if !errors.Is(err, antientropy.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Fatalf("%+v: Validate() = %v, want ErrInvalid naming %s", c.cfg, err, c.field)
		}
	}
	if d := antientropy.DefaultConfig(); d.ListSegments != 1024 || d.RepairBatch != 64 {
		t.Fatalf("DefaultConfig() = %+v", d)
	}
}

// keysInLeaf returns n keys (of any partition) whose segments fall in leaf
// of a tree shaped cfg.
func keysInLeaf(cfg merkle.Config, leaf uint32, n int, prefix string) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		k := fmt.Sprintf("%s%d", prefix, i)
		if cfg.Leaf(segOf(k)) == leaf {
			out = append(out, k)
		}
	}
	return out
}

func setOf(tb testing.TB, actor, value string) *version.Set {
	tb.Helper()
	s, err := version.Update(nil, version.Context{}, version.Write{Value: []byte(value), Timestamp: 1}, actor, 1)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestNewSessionInvalidConfigUsesDefaults(t *testing.T) {
	// Two leaves of 32768 segments: the local replica has keys in both, the
	// remote none, so the whole segment space differs and about 90 keys
	// fall in the first 1024 segments.
	tcfg := merkle.Config{Depth: 1, FanoutBits: 1}
	var keys []string
	for i := range 6000 {
		keys = append(keys, fmt.Sprintf("dflt-%d", i))
	}
	for _, bad := range []antientropy.Config{{}, {ListSegments: 5, RepairBatch: 0}, {ListSegments: 0, RepairBatch: 5}, {ListSegments: 1 << 20, RepairBatch: 5}} {
		local, remote := newReplica(t, tcfg), newReplica(t, tcfg)
		for _, k := range keys {
			local.put(k, setOf(t, "L", k))
		}
		s := antientropy.NewSession(local.tree.Clone(), bad)
		if err := s.StepHashes(remote.tree.Answer(s.Next().Hashes)); err != nil {
			t.Fatal(err)
		}
		a := s.Next()
		if a.Kind != antientropy.ListKeys || a.Range != (merkle.SegmentRange{First: 0, Last: 1023}) {
			t.Fatalf("cfg %+v: first action %+v, want a listing of segments 0..1023 (default ListSegments)", bad, a)
		}
		l := local.list(a.Range)
		if len(l) <= 64 {
			t.Fatalf("test setup: only %d keys in the first listing", len(l))
		}
		if err := s.StepKeys(l, nil); err != nil {
			t.Fatal(err)
		}
		if a := s.Next(); a.Kind != antientropy.RepairKeys || len(a.Repairs) != 64 {
			t.Fatalf("cfg %+v: first repair batch of %d, want 64 (default RepairBatch)", bad, len(a.Repairs))
		}
	}
}

// protocolFixture: local and remote differ in 10 keys of one leaf (every
// kind of difference) and in one key of another leaf.
func protocolFixture(t *testing.T) (local, remote *replica, tcfg merkle.Config) {
	tcfg = merkle.DefaultConfig()
	local, remote = newReplica(t, tcfg), newReplica(t, tcfg)
	for _, k := range keysInPartition(3, 200, "same-") {
		s := setOf(t, "A", k)
		local.put(k, s)
		remote.put(k, s)
	}
	for i, k := range keysInLeaf(tcfg, 1234, 10, "leaf-") {
		switch i % 3 {
		case 0:
			local.put(k, setOf(t, "L", "l"))
		case 1:
			remote.put(k, setOf(t, "R", "r"))
		default:
			local.put(k, setOf(t, "L", "l"))
			remote.put(k, setOf(t, "R", "r"))
		}
	}
	for _, k := range keysInLeaf(tcfg, 3000, 1, "other-") {
		remote.put(k, setOf(t, "R", "r"))
	}
	return local, remote, tcfg
}

// stuck checks that s still asks for want and its figures are unchanged.
func stuck(t *testing.T, what string, s *antientropy.Session, want antientropy.Action, stats antientropy.Stats) {
	t.Helper()
	if got := s.Next(); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s changed the pending action: %+v, was %+v", what, got, want)
	}
	if got := s.Stats(); !reflect.DeepEqual(got, stats) {
		t.Fatalf("%s changed the stats: %+v, was %+v", what, got, stats)
	}
}

func TestSessionProtocolErrors(t *testing.T) {
	local, remote, tcfg := protocolFixture(t)
	cfg := antientropy.Config{ListSegments: 16, RepairBatch: 3}
	s := antientropy.NewSession(local.tree.Clone(), cfg)

	// AskHashes pending.
	a0 := s.Next()
	if a0.Kind != antientropy.AskHashes || a0.Hashes.Level != 0 || !slices.Equal(a0.Hashes.Indices, []uint32{0}) {
		t.Fatalf("first action %+v, want the root", a0)
	}
	st0 := s.Stats()
	if err := s.StepKeys(nil, nil); !errors.Is(err, antientropy.ErrInvalid) {
		t.Fatalf("StepKeys while AskHashes is pending: %v, want ErrInvalid", err)
	}
	stuck(t, "StepKeys", s, a0, st0)
	if err := s.StepRepaired(0); !errors.Is(err, antientropy.ErrInvalid) {
		t.Fatalf("StepRepaired while AskHashes is pending: %v, want ErrInvalid", err)
	}
	stuck(t, "StepRepaired", s, a0, st0)

	// The returned request is a copy.
	a := s.Next()
	a.Hashes.Indices[0] = 7
	stuck(t, "modifying Next's request", s, a0, st0)

	// Malformed answers.
	good := remote.tree.Answer(a0.Hashes)
	other, err := merkle.New(merkle.Config{Depth: 2, FanoutBits: 8})
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]merkle.Response{
		"zero response":    {},
		"wrong level":      {Level: 1, Indices: good.Indices, Hashes: good.Hashes, Config: good.Config},
		"wrong index":      {Level: 0, Indices: []uint32{1}, Hashes: good.Hashes, Config: good.Config},
		"extra index":      {Level: 0, Indices: []uint32{0, 1}, Hashes: []merkle.Hash{good.Hashes[0], {}}, Config: good.Config},
		"missing hash":     {Level: 0, Indices: good.Indices, Config: good.Config},
		"extra hash":       {Level: 0, Indices: good.Indices, Hashes: []merkle.Hash{good.Hashes[0], {}}, Config: good.Config},
		"wrong config":     other.Answer(a0.Hashes),
		"remote error":     {Level: 0, Indices: good.Indices, Hashes: good.Hashes, Config: good.Config, Err: "boom"},
		"answer to other":  remote.tree.Answer(merkle.Request{Level: 1, Indices: []uint32{0}}),
		"out-of-range ask": remote.tree.Answer(merkle.Request{Level: 9, Indices: []uint32{0}}),
	}
	for _, name := range slices.Sorted(maps.Keys(bad)) {
		if err := s.StepHashes(bad[name]); err == nil {
			t.Fatalf("StepHashes(%s) accepted %+v", name, bad[name])
		}
		stuck(t, "StepHashes("+name+")", s, a0, st0)
	}

	// Answer properly until the first listing.
	for s.Next().Kind == antientropy.AskHashes {
		if err := s.StepHashes(remote.tree.Answer(s.Next().Hashes)); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Tree.RoundTrips != tcfg.Depth+1 || st.Identical || st.DifferingSegments != 32 {
		t.Fatalf("after the tree exchange: %+v, want %d round trips and two 16-segment leaves", st, tcfg.Depth+1)
	}
	la := s.Next()
	if la.Kind != antientropy.ListKeys || la.Range != tcfg.LeafRange(1234) {
		t.Fatalf("first listing %+v, want leaf 1234's range %+v", la, tcfg.LeafRange(1234))
	}
	if err := s.StepHashes(good); !errors.Is(err, antientropy.ErrInvalid) {
		t.Fatalf("StepHashes while ListKeys is pending: %v, want ErrInvalid", err)
	}
	stuck(t, "StepHashes during ListKeys", s, la, st)
	if err := s.StepRepaired(1); !errors.Is(err, antientropy.ErrInvalid) {
		t.Fatalf("StepRepaired while ListKeys is pending: %v, want ErrInvalid", err)
	}
	stuck(t, "StepRepaired during ListKeys", s, la, st)
	ll, rl := local.list(la.Range), remote.list(la.Range)
	if len(ll) < 2 || len(rl) < 2 {
		t.Fatalf("test setup: listings of %d and %d keys", len(ll), len(rl))
	}
	// A key listed twice on one side (anywhere in the listing) is an error.
	if err := s.StepKeys(append(slices.Clone(ll), ll[0]), rl); !errors.Is(err, antientropy.ErrInvalid) {
		t.Fatalf("StepKeys with a duplicated local key: %v, want ErrInvalid", err)
	}
	stuck(t, "StepKeys(local duplicate)", s, la, st)
	if err := s.StepKeys(ll, append([]merkle.KeyDigest{rl[len(rl)-1]}, rl...)); !errors.Is(err, antientropy.ErrInvalid) {
		t.Fatalf("StepKeys with a duplicated remote key: %v, want ErrInvalid", err)
	}
	stuck(t, "StepKeys(remote duplicate)", s, la, st)

	// Listings in any order are accepted (a vnode lists in storage order);
	// the repairs are still planned ascending by key.
	rev := func(kds []merkle.KeyDigest) []merkle.KeyDigest {
		out := slices.Clone(kds)
		slices.Reverse(out)
		return out
	}
	if err := s.StepKeys(rev(ll), rev(rl)); err != nil {
		t.Fatalf("StepKeys with listings in descending order: %v", err)
	}
	plan, err := antientropy.Plan(ll, rl)
	if err != nil || len(plan) != 10 {
		t.Fatalf("test setup: %d repairs planned (%v), want 10", len(plan), err)
	}

	// RepairKeys pending: batches of RepairBatch, in order, answered one by one.
	var got []antientropy.Repair
	var sizes []int
	for s.Next().Kind == antientropy.RepairKeys {
		ra := s.Next()
		rst := s.Stats()
		if err := s.StepKeys(ll, rl); !errors.Is(err, antientropy.ErrInvalid) {
			t.Fatalf("StepKeys while RepairKeys is pending: %v, want ErrInvalid", err)
		}
		stuck(t, "StepKeys during RepairKeys", s, ra, rst)
		if err := s.StepHashes(good); !errors.Is(err, antientropy.ErrInvalid) {
			t.Fatalf("StepHashes while RepairKeys is pending: %v, want ErrInvalid", err)
		}
		stuck(t, "StepHashes during RepairKeys", s, ra, rst)
		got = append(got, ra.Repairs...)
		sizes = append(sizes, len(ra.Repairs))
		if err := s.StepRepaired(len(ra.Repairs)); err != nil {
			t.Fatal(err)
		}
		if err := s.StepRepaired(0); !errors.Is(err, antientropy.ErrInvalid) {
			t.Fatalf("StepRepaired twice for one batch: %v, want ErrInvalid", err)
		}
	}
	if !slices.Equal(sizes, []int{3, 3, 3, 1}) {
		t.Fatalf("batch sizes %v, want [3 3 3 1]", sizes)
	}
	if !reflect.DeepEqual(got, plan) {
		t.Fatalf("repairs handed out %+v, want Plan's %+v", got, plan)
	}
	if st := s.Stats(); st.Repairs != 10 || st.Changed != 10 || st.Listings != 1 {
		t.Fatalf("stats after the first listing: %+v", st)
	}

	// Second listing (the other leaf), then Finished.
	if a := s.Next(); a.Kind != antientropy.ListKeys || a.Range != tcfg.LeafRange(3000) {
		t.Fatalf("second listing %+v", a)
	}
	if err := s.StepKeys(local.list(tcfg.LeafRange(3000)), remote.list(tcfg.LeafRange(3000))); err != nil {
		t.Fatal(err)
	}
	if a := s.Next(); a.Kind != antientropy.RepairKeys || len(a.Repairs) != 1 || a.Repairs[0].ReadLocal || !a.Repairs[0].ReadRemote {
		t.Fatalf("repair of the other leaf: %+v", a)
	}
	if err := s.StepRepaired(-3); err != nil { // a negative count is clamped
		t.Fatal(err)
	}
	fin := s.Next()
	if fin.Kind != antientropy.Finished || !s.Done() {
		t.Fatalf("action %+v, want Finished", fin)
	}
	st = s.Stats()
	if st.Changed != 10 || st.Repairs != 11 || st.Listings != 2 {
		t.Fatalf("final stats %+v", st)
	}
	if err := s.StepHashes(good); !errors.Is(err, antientropy.ErrInvalid) {
		t.Fatalf("StepHashes after Finished: %v", err)
	}
	if err := s.StepKeys(nil, nil); !errors.Is(err, antientropy.ErrInvalid) {
		t.Fatalf("StepKeys after Finished: %v", err)
	}
	if err := s.StepRepaired(0); !errors.Is(err, antientropy.ErrInvalid) {
		t.Fatalf("StepRepaired after Finished: %v", err)
	}
	stuck(t, "steps after Finished", s, fin, st)
}

// ErrInvalid "marks a malformed answer fed to a Session": a malformed tree
// answer must be recognisable as such, like a malformed key listing is.
func TestStepHashesMalformedWrapsErrInvalid(t *testing.T) {
	local, remote, _ := protocolFixture(t)
	s := antientropy.NewSession(local.tree.Clone(), antientropy.DefaultConfig())
	good := remote.tree.Answer(s.Next().Hashes)
	other, err := merkle.New(merkle.Config{Depth: 2, FanoutBits: 8})
	if err != nil {
		t.Fatal(err)
	}
	for name, resp := range map[string]merkle.Response{
		"wrong level":  {Level: 1, Indices: good.Indices, Hashes: good.Hashes, Config: good.Config},
		"wrong index":  {Level: 0, Indices: []uint32{1}, Hashes: good.Hashes, Config: good.Config},
		"wrong config": other.Answer(s.Next().Hashes),
	} {
		if err := s.StepHashes(resp); !errors.Is(err, antientropy.ErrInvalid) {
			t.Errorf("StepHashes(%s) = %v, want an error wrapping ErrInvalid", name, err)
		}
	}
}

// isTomb reports a set of tombstones only.
func isTomb(s *version.Set) bool { _, dead := s.DeadSince(0); return dead }
