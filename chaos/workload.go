package chaos

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/ring"
)

// history records every client's writes.
type history struct {
	// start is the workload's start, without a monotonic clock reading:
	// since measures by the wall clock, the clock of the nodes' expiries.
	start time.Time
	mu    sync.Mutex
	all   []Add
	regs  []RegOp
	stale []StaleRead
	rests []Rest
	// excused counts the reads that missed their client's own last
	// acknowledged put when that value may have expired (not stale).
	excused int
}

func newHistory() *history { return &history{start: time.Now().Round(0)} }

func (h *history) since() time.Duration { return time.Since(h.start) }

func (h *history) recordRest(r Rest) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rests = append(h.rests, r)
}

func (h *history) excuse() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.excused++
}

func (h *history) expiry() ([]Rest, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.rests), h.excused
}

func (h *history) record(a Add) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.all = append(h.all, a)
}

func (h *history) recordReg(op RegOp) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.regs = append(h.regs, op)
}

func (h *history) recordStale(s StaleRead) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stale = append(h.stale, s)
}

func (h *history) adds() []Add {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.all)
}

func (h *history) registers() ([]RegOp, []StaleRead) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.regs), slices.Clone(h.stale)
}

// cartKey is cart i's key.
func cartKey(i int) string { return fmt.Sprintf("cart-%d", i) }

// quietKey is quiet cart i's key.
func quietKey(i int) string { return fmt.Sprintf("quiet-%d", i) }

// cartKeys are every cart, hot then quiet.
func cartKeys(cfg Config) []string {
	var out []string
	for i := range cfg.Carts {
		out = append(out, cartKey(i))
	}
	for i := range cfg.QuietCarts {
		out = append(out, quietKey(i))
	}
	return out
}

// registerKey is register j of register client c.
func registerKey(c, j int) string { return fmt.Sprintf("reg-%d-%d", c, j) }

// items decodes a cart value: its items, one per line.
func items(v []byte) []string {
	var out []string
	for _, s := range strings.Split(string(v), "\n") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// outcome classifies a write's error.
func outcome(err error) Outcome {
	switch {
	case err == nil:
		return Acked
	case errors.Is(err, client.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return Unknown
	}
	return Failed
}

// pause waits d unless ctx ends first.
func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// read reads key at R=2 within 2 s.
func read(ctx context.Context, cl *client.Client, key string) (*client.Object, error) {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return cl.Get(rctx, []byte(key), client.R(2))
}

// write puts value at W=2 within 2 s. It is not cut short by the end of
// the run: its outcome must be known.
func write(cl *client.Client, key string, value []string, vctx client.Context) (client.Context, error) {
	wctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return cl.Put(wctx, []byte(key), []byte(strings.Join(value, "\n")), vctx, client.W(2))
}

// union returns the sorted items of set.
func union(set map[string]bool) []string { return slices.Sorted(maps.Keys(set)) }

// merged is the set of item plus every item of the values (a cart's
// siblings).
func merged(item string, values [][]byte) map[string]bool {
	set := map[string]bool{item: true}
	for _, v := range values {
		for _, it := range items(v) {
			set[it] = true
		}
	}
	return set
}

// mergeWorker is a read-merge-write client: read a cart, merge its
// siblings by set union, add a unique item, write with the read's context.
func mergeWorker(ctx context.Context, cl *client.Client, id int, cfg Config, h *history) {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(id)+1))
	for n := 0; ctx.Err() == nil; n++ {
		cart := cartKey(rng.IntN(cfg.Carts))
		item := fmt.Sprintf("c%d-%d", id, n)
		obj, err := read(ctx, cl, cart)
		if err != nil {
			pause(ctx, 50*time.Millisecond)
			continue // nothing attempted
		}
		set := merged(item, obj.Values)
		_, err = write(cl, cart, union(set), obj.Context)
		h.record(Add{Cart: cart, Item: item, Outcome: outcome(err), Kind: Merge, At: h.since()})
		if err != nil {
			pause(ctx, 50*time.Millisecond)
		}
	}
}

// slowMerger is the only read-merge-write client of the quiet carts:
// every 8-16 s it reads each, merges its siblings and writes the union
// with one new item. Between its rounds the blind writers' adds stay
// siblings, each carrying the dot of the node that coordinated it, for
// longer than a node takes to leave and come back or to lose a write: a
// coordinator that forgets its dots and issues a new one claiming them
// (key amnesia) makes the other replicas drop those siblings.
func slowMerger(ctx context.Context, cl *client.Client, cfg Config, h *history) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 4001))
	for n := 0; ctx.Err() == nil; {
		pause(ctx, time.Duration(8000+rng.IntN(8001))*time.Millisecond)
		for i := range cfg.QuietCarts {
			if ctx.Err() != nil {
				return
			}
			cart := quietKey(i)
			obj, err := read(ctx, cl, cart)
			if err != nil {
				continue
			}
			item := fmt.Sprintf("s-%d", n)
			n++
			set := merged(item, obj.Values)
			_, err = write(cl, cart, union(set), obj.Context)
			h.record(Add{Cart: cart, Item: item, Outcome: outcome(err), Kind: Merge, At: h.since()})
		}
	}
}

// ownWorker is an own-context writer: it reads a cart once, then writes
// several times, each write adding one unique item and carrying the
// context its own previous put returned (the first, the read's), each
// value the union of what the read returned and everything added since.
// Such a context covers the client's own writes and what it read, nothing
// else: a write with it must leave every other client's concurrent adds
// as siblings.
func ownWorker(ctx context.Context, cl *client.Client, id int, cfg Config, h *history) {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(id)+1001))
	n := 0
	for ctx.Err() == nil {
		cart := cartKey(rng.IntN(cfg.Carts))
		obj, err := read(ctx, cl, cart)
		if err != nil {
			pause(ctx, 50*time.Millisecond)
			continue
		}
		set := map[string]bool{}
		for _, v := range obj.Values {
			for _, it := range items(v) {
				set[it] = true
			}
		}
		vctx := obj.Context
		for range 2 + rng.IntN(7) {
			item := fmt.Sprintf("o%d-%d", id, n)
			n++
			set[item] = true
			next, err := write(cl, cart, union(set), vctx)
			h.record(Add{Cart: cart, Item: item, Outcome: outcome(err), Kind: Own, At: h.since()})
			if err != nil {
				pause(ctx, 50*time.Millisecond)
				break // the context of a failed write is unknown: read again
			}
			vctx = next
			if ctx.Err() != nil {
				break
			}
			pause(ctx, time.Duration(rng.IntN(10))*time.Millisecond)
		}
	}
}

// blindWorker writes one unique item at a time with no context: each
// write is a sibling of what the cart holds until a read-merge-write
// folds it in. One write in three goes to a quiet cart.
func blindWorker(ctx context.Context, cl *client.Client, id int, cfg Config, h *history) {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(id)+2001))
	for n := 0; ctx.Err() == nil; n++ {
		cart := cartKey(rng.IntN(cfg.Carts))
		if cfg.QuietCarts > 0 && rng.IntN(3) == 0 {
			cart = quietKey(rng.IntN(cfg.QuietCarts))
		}
		item := fmt.Sprintf("b%d-%d", id, n)
		_, err := write(cl, cart, []string{item}, client.Context{})
		h.record(Add{Cart: cart, Item: item, Outcome: outcome(err), Kind: Blind, At: h.since()})
		if err != nil {
			pause(ctx, 50*time.Millisecond)
		}
		pause(ctx, time.Duration(5+rng.IntN(20))*time.Millisecond)
	}
}

// register is a register client's knowledge of one of its registers.
type register struct {
	seq int
	// dormant: after an acknowledged delete the register may rest until
	// then, longer than the agents' tombstone grace, so that its
	// tombstone is reaped before it is written again.
	dormant time.Time
	// own is the context of the last write when it was an acknowledged
	// put (nil otherwise), ownCovers what it covers.
	own       client.Context
	ownCovers []string
	// mustSee is the value of the last write when it was an acknowledged
	// put: a read that returns neither it nor a value superseding it is
	// stale, if it was answered before liveUntil (when mustSee has a time
	// to live: its put's send plus it; the value may have expired after).
	mustSee   string
	liveUntil time.Duration
	// rested is why the register rests ("delete", "expiry"), until it is
	// written again.
	rested string
	// blind: the next write is a put with no context and no time to live,
	// a sibling of the value with a time to live just written.
	blind bool
	// covers of every value written (for a read context's closure).
	covers map[string][]string
}

// closure is what a context that covers the values vals covers: the
// values themselves and everything their writes' contexts covered.
func (r *register) closure(vals []string) []string {
	set := map[string]bool{}
	for _, v := range vals {
		set[v] = true
		for _, c := range r.covers[v] {
			set[c] = true
		}
	}
	return union(set)
}

// registerWorker is a delete-and-re-add client: it owns cfg.RegisterKeys
// registers and writes each one operation at a time: put, overwrite or
// delete, and put again. The context of an overwrite or a delete is its
// own previous put's (when that was acknowledged) or a fresh read's; a
// put after a delete uses a read's. Each write records what its context
// covers (the values it supersedes), so the expected final state is
// exact. After an acknowledged delete a register rests half the time for
// longer than the agents' tombstone grace, so that its tombstone is reaped
// while faults go on and the checker sees any old value that comes back.
// Puts go through the key's first up primary (PutVia, no failover:
// a put retried on another node could apply twice under two dots, and the
// context of the one acknowledged would not cover the other).
//
// Two puts in three carry a time to live (drawTTL): a short one, which
// expires during the run, or a long one, which must not. After an
// acknowledged put with one, the register rests, one time in three when it
// is short, until its value has expired and its key had the tombstone
// grace to be reaped, and is written again; or its next write is, one time
// in four, a put with no context and no time to live: a sibling that must
// survive the value with a time to live beside it.
func registerWorker(ctx context.Context, cl *client.Client, rc *ringCache, id int, cfg Config, h *history) {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(id)+3001))
	regs := make([]*register, cfg.RegisterKeys)
	for j := range regs {
		regs[j] = &register{covers: map[string][]string{}}
	}
	n := 0
	for ctx.Err() == nil {
		j := rng.IntN(cfg.RegisterKeys)
		key, st := registerKey(id, j), regs[j]
		if time.Now().Before(st.dormant) {
			pause(ctx, 10*time.Millisecond)
			continue
		}
		if st.rested != "" {
			h.recordRest(probeRest(ctx, cl, rc, key, st.rested, h))
			st.rested = ""
		}
		var vctx client.Context
		var covers []string
		src, present, blind := "own", true, st.blind
		st.blind = false
		switch {
		case blind:
			src, present = "none", false
		case st.own.IsZero() || rng.IntN(3) == 0:
			obj, err := read(ctx, cl, key)
			if err != nil {
				pause(ctx, 50*time.Millisecond)
				continue
			}
			answered := h.since()
			vals := make([]string, 0, len(obj.Values))
			for _, v := range obj.Values {
				vals = append(vals, string(v))
			}
			covers, vctx, src, present = st.closure(vals), obj.Context, "read", len(vals) > 0
			if st.mustSee != "" && !slices.Contains(covers, st.mustSee) {
				if st.liveUntil == 0 || answered < st.liveUntil {
					h.recordStale(StaleRead{Key: key, Missed: st.mustSee, At: answered, NotFound: !obj.Found})
				} else {
					h.excuse() // it may have expired
				}
			}
		default:
			vctx, covers = st.own, st.ownCovers
		}
		op := RegOp{Key: key, Seq: st.seq, Covers: covers, Context: src, Blind: blind}
		st.seq++
		if vctx.IsZero() {
			op.Context = "none"
		}
		var err error
		var next client.Context
		if present && rng.IntN(2) == 0 {
			op.Delete = true
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			op.Sent = h.since()
			err = cl.Delete(dctx, []byte(key), vctx, client.W(2))
			cancel()
		} else {
			op.Value = fmt.Sprintf("r%d-%d-%d", id, j, n)
			n++
			st.covers[op.Value] = covers
			opts := []client.Option{client.W(2)}
			if !blind {
				op.TTL = drawTTL(rng, 3)
			}
			if op.TTL > 0 {
				opts = append(opts, client.TTL(op.TTL))
			}
			wctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			op.Sent = h.since()
			next, err = cl.PutVia(wctx, rc.coordinator(key), []byte(key), []byte(op.Value), vctx, opts...)
			cancel()
		}
		op.Outcome, op.At = outcome(err), h.since()
		h.recordReg(op)
		st.own, st.ownCovers, st.mustSee, st.liveUntil = client.Context{}, nil, "", 0
		if err == nil && !op.Delete {
			st.own, st.ownCovers, st.mustSee = next, append(slices.Clone(covers), op.Value), op.Value
			if op.TTL > 0 {
				st.liveUntil = op.Sent + op.TTL
			}
		}
		switch {
		case err == nil && op.Delete && rng.IntN(2) == 0:
			st.dormant = time.Now().Add(dormancy + time.Duration(rng.IntN(20))*time.Second)
			st.rested = "delete"
		case err == nil && op.TTL > 0 && op.TTL <= maxShortTTL && rng.IntN(3) == 0:
			// Its value expires by op.TTL from now (the coordinator
			// prepared it before the ack): then the grace runs.
			st.dormant = time.Now().Add(op.TTL + dormancy + time.Duration(rng.IntN(20))*time.Second)
			st.rested = "expiry"
		case err == nil && op.TTL > 0 && rng.IntN(4) == 0:
			st.blind = true
		}
		if err != nil {
			pause(ctx, 50*time.Millisecond)
		}
		pause(ctx, time.Duration(5+rng.IntN(20))*time.Millisecond)
	}
}

// dormancy is the least a deleted or expired register rests: above the
// agents' --tombstone-grace (20 s) plus a reap pass, so that it is written
// again after its tombstone or expired value was reaped.
const dormancy = 25 * time.Second

// Times to live of the puts that carry one: short ones expire during the
// run (and their keys are reaped a tombstone grace later), long ones must
// not.
const (
	minShortTTL = 300 * time.Millisecond
	maxShortTTL = 3 * time.Second
	longTTL     = time.Hour
)

// drawTTL draws a put's time to live: a short one (minShortTTL to
// maxShortTTL, whole milliseconds) one time in k, a long one one time in
// k, none otherwise.
func drawTTL(rng *rand.Rand, k int) time.Duration {
	switch rng.IntN(k) {
	case 0:
		return minShortTTL + time.Duration(rng.IntN(int((maxShortTTL-minShortTTL)/time.Millisecond)+1))*time.Millisecond
	case 1:
		return longTTL
	}
	return 0
}

// probeRest reads key's replica on each of its owners when the register
// wakes from a rest: an owner that still stores the key (a tombstone or
// an expired value: found, nothing live) has not reaped it.
func probeRest(ctx context.Context, cl *client.Client, rc *ringCache, key, after string, h *history) Rest {
	r := Rest{Key: key, After: after, At: h.since()}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, owner := range rc.owners(key) {
		rep, err := cl.ReplicaOf(pctx, owner, []byte(key))
		if err != nil {
			continue
		}
		r.Owners = append(r.Owners, owner)
		if rep.Found {
			r.Stored = append(r.Stored, owner)
		}
	}
	return r
}

// freshKey is fresh key n of fresh client c.
func freshKey(c, n int) string { return fmt.Sprintf("fresh-%d-%d", c, n) }

// maxFresh bounds the keys one fresh client writes (the final reads read
// each).
const maxFresh = 1500

// freshWorker writes new keys, each once, blind, through its first up
// primary (PutVia, no failover), and reads each back 50-100 ms after the
// write was acknowledged (long enough for a coordinator whose own commit
// failed after the ack to answer the read at once, without the value),
// and one older key it wrote each time: a read that misses it is stale. A stale read
// is checked at once on each of the key's owners: "not found" while a
// primary holds the value is what a read that let a lagging primary's and
// a fallback's "not found" outvote a primary's value answers. Each key is
// a register of one put for the checker (lost if an acknowledged one is
// missing at the end). One put in four carries a short time to live and
// one in four a long one (drawTTL): a read that misses a value that may
// have expired is not stale, and the final read must not return one that
// certainly has.
//
// The fresh keys avoid the partitions of the carts and registers: there a
// coordinator whose disk fails is busy failing those keys' writes and
// answers reads last.
func freshWorker(ctx context.Context, cl *client.Client, rc *ringCache, id int, cfg Config, h *history) {
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(id)+5001))
	busy := map[uint32]bool{}
	for _, k := range cartKeys(cfg) {
		busy[ring.PartitionOf(ring.HashKey([]byte(k)), ringPartitions)] = true
	}
	for a := range cfg.Registers {
		for j := range cfg.RegisterKeys {
			busy[ring.PartitionOf(ring.HashKey([]byte(registerKey(a, j))), ringPartitions)] = true
		}
	}
	var acked []string
	puts := map[string]freshPut{}
	for n, i := 0, 0; ctx.Err() == nil && n < maxFresh; i++ {
		key := freshKey(id, i)
		if busy[ring.PartitionOf(ring.HashKey([]byte(key)), ringPartitions)] && len(busy) < ringPartitions {
			continue
		}
		n++
		var acks client.Acks
		opts := []client.Option{client.W(2), client.ReportAcks(&acks)}
		op := RegOp{Key: key, Value: key, Context: "none", TTL: drawTTL(rng, 4)}
		if op.TTL > 0 {
			opts = append(opts, client.TTL(op.TTL))
		}
		wctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		op.Sent = h.since()
		_, err := cl.PutVia(wctx, rc.coordinator(key), []byte(key), []byte(key), client.Context{}, opts...)
		cancel()
		op.Outcome, op.At = outcome(err), h.since()
		h.recordReg(op)
		if err != nil {
			pause(ctx, 50*time.Millisecond)
			continue
		}
		acked = append(acked, key)
		put := freshPut{at: op.At, primaries: acks.Hinted == 0 && acks.Acked >= 2}
		if op.TTL > 0 {
			put.liveUntil = op.Sent + op.TTL
		}
		puts[key] = put
		pause(ctx, time.Duration(50+rng.IntN(51))*time.Millisecond)
		readBack(ctx, cl, rc, key, puts[key], h)
		// And one older key: a coordinator that missed it (its disk
		// failed, it was down) may still lack it when another replica
		// goes down.
		if len(acked) > 1 {
			old := acked[rng.IntN(len(acked)-1)]
			readBack(ctx, cl, rc, old, puts[old], h)
		}
		pause(ctx, time.Duration(20+rng.IntN(31))*time.Millisecond)
	}
}

// freshPut is how a fresh key's put was acknowledged.
type freshPut struct {
	at        time.Duration // when
	primaries bool          // by W primaries, no fallback among them
	// liveUntil: with a time to live, the put's send plus it (before then
	// it has certainly not expired); 0 without.
	liveUntil time.Duration
}

// readBack reads fresh key (whose value is the key) and records a stale
// read if it misses it while it certainly has not expired, with the
// owners that hold it right after.
func readBack(ctx context.Context, cl *client.Client, rc *ringCache, key string, put freshPut, h *history) {
	obj, err := read(ctx, cl, key)
	if err != nil || slices.ContainsFunc(obj.Values, func(v []byte) bool { return string(v) == key }) {
		return
	}
	answered := h.since()
	if put.liveUntil != 0 && answered >= put.liveUntil {
		h.excuse() // it may have expired
		return
	}
	s := StaleRead{Key: key, Missed: key, At: answered, NotFound: !obj.Found, PutAt: put.at, PrimaryAcked: put.primaries}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, owner := range rc.owners(key) {
		if r, err := cl.ReplicaOf(rctx, owner, []byte(key)); err == nil && slices.ContainsFunc(r.Values, func(v []byte) bool { return string(v) == key }) {
			s.Holders = append(s.Holders, owner)
		}
	}
	h.recordStale(s)
}

// ringCache keeps the cluster's membership, read every 500 ms, for the
// clients that name a node (register puts) and the nemesis.
type ringCache struct {
	cl   *client.Client
	cur  atomic.Pointer[ringView]
	stop context.CancelFunc
	done chan struct{}
}

type ringView struct {
	m *client.Membership
	r *ring.Ring
}

func newRingCache(ctx context.Context, cl *client.Client) *ringCache {
	ctx, cancel := context.WithCancel(ctx)
	rc := &ringCache{cl: cl, stop: cancel, done: make(chan struct{})}
	rc.refresh(ctx)
	go func() {
		defer close(rc.done)
		for ctx.Err() == nil {
			pause(ctx, 500*time.Millisecond)
			rc.refresh(ctx)
		}
	}()
	return rc
}

func (rc *ringCache) close() { rc.stop(); <-rc.done }

func (rc *ringCache) refresh(ctx context.Context) {
	mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	m, err := rc.cl.Members(mctx)
	if err != nil {
		return
	}
	r, err := m.Ring()
	if err != nil {
		return
	}
	rc.cur.Store(&ringView{m: m, r: r})
}

// coordinator is key's first up primary, as far as the cache knows (the
// first member otherwise: it forwards the write).
func (rc *ringCache) coordinator(key string) string {
	v := rc.cur.Load()
	if v == nil {
		return ""
	}
	up := map[string]bool{}
	for _, x := range v.m.Members {
		up[x.Name] = x.State == ring.Up
	}
	for _, name := range v.r.PreferenceList(v.r.Partition([]byte(key))) {
		if up[name] {
			return name
		}
	}
	for _, x := range v.m.Members {
		if x.State == ring.Up {
			return x.Name
		}
	}
	return ""
}

// owners are key's owners in the cached ring.
func (rc *ringCache) owners(key string) []string {
	v := rc.cur.Load()
	if v == nil {
		return nil
	}
	return v.r.Owners(v.r.Partition([]byte(key)))
}

// partitionsOf are the partitions node owns in the cached ring.
func (rc *ringCache) partitionsOf(node string) []uint32 {
	v := rc.cur.Load()
	if v == nil {
		return nil
	}
	ps, _ := v.r.PartitionsOf(node)
	return ps
}
