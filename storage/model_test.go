package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
)

var modelKeyspaces = []Keyspace{KeyspaceData, KeyspaceHints, KeyspaceMeta}

// model is the expected content of an engine, kept independently of both
// engines under test.
type model map[Keyspace]map[string]string

func (m model) scan(ks Keyspace, r Range) []kv {
	var out []kv
	for k, v := range m[ks] {
		if r.contains([]byte(k)) {
			out = append(out, kv{k, v})
		}
	}
	slices.SortFunc(out, func(a, b kv) int { return bytes.Compare([]byte(a.key), []byte(b.key)) })
	return out
}

// heldIterator is a pair of iterators kept open across later operations.
type heldIterator struct {
	its    [2]Iterator // leveldb, memory
	ks     Keyspace
	r      Range
	expect []kv // the model at creation
	pos    int
}

// TestRandomizedAgainstModel runs one random sequence of operations against
// the LevelDB engine, the Memory engine and a plain map, and compares every
// result.
func TestRandomizedAgainstModel(t *testing.T) {
	seed := int64(testseed.Seed(t))
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	steps := 3000
	if testing.Short() {
		steps = 500
	}
	var step int
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (DYNAMO_SEED=%d) step %d: %s", seed, seed, step, fmt.Sprintf(format, args...))
	}

	dir := t.TempDir()
	cfg := DefaultLevelDBConfig()
	cfg.WriteBufferBytes = 64 << 10 // flush and compact often
	open := func() *LevelDB {
		l, err := OpenLevelDB(dir, cfg)
		if err != nil {
			fail("OpenLevelDB: %v", err)
		}
		return l
	}
	lvl, mem := open(), NewMemory()
	defer func() { _ = lvl.Close(); _ = mem.Close() }()
	engines := func() [2]Engine { return [2]Engine{lvl, mem} }
	names := [2]string{"leveldb", "memory"}
	want := model{}
	for _, ks := range modelKeyspaces {
		want[ks] = map[string]string{}
	}
	var held []*heldIterator

	// Keys come from a small alphabet with the extreme bytes, so that keys
	// collide, share prefixes and sit at the keyspace boundaries.
	alphabet := []byte{0x00, 0x01, 'a', 'z', 0xfe, 0xff}
	randKey := func() []byte {
		k := make([]byte, 1+rng.IntN(3))
		for i := range k {
			k[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return k
	}
	randValue := func() []byte {
		v := make([]byte, rng.IntN(300))
		for i := range v {
			v[i] = byte(rng.Uint32())
		}
		return v
	}
	randKeyspace := func() Keyspace { return modelKeyspaces[rng.IntN(len(modelKeyspaces))] }
	randRange := func() Range {
		var r Range
		if rng.IntN(4) > 0 {
			r.Start = randKey()
		}
		if rng.IntN(4) > 0 {
			r.Limit = randKey()
		}
		if r.Limit != nil && bytes.Compare(r.Start, r.Limit) > 0 {
			r.Start, r.Limit = r.Limit, r.Start
		}
		return r
	}

	write := func(b *Batch, apply func(), opts WriteOptions) {
		for i, e := range engines() {
			if err := e.Write(b, opts); err != nil {
				fail("%s: Write of %d records: %v", names[i], b.Len(), err)
			}
		}
		apply()
	}
	compareScan := func(ks Keyspace, r Range) {
		expect := want.scan(ks, r)
		for i, e := range engines() {
			got, err := scan(e, ks, r)
			if err != nil {
				fail("%s: scan %s %x..%x: %v", names[i], ks, r.Start, r.Limit, err)
			}
			if !slices.Equal(got, expect) {
				fail("%s: scan %s %x..%x = %q, want %q", names[i], ks, r.Start, r.Limit, got, expect)
			}
		}
	}
	compareAll := func() {
		for _, ks := range modelKeyspaces {
			compareScan(ks, Range{})
		}
	}
	advance := func(h *heldIterator, n int) (done bool) {
		for range n {
			var more [2]bool
			for i, it := range h.its {
				more[i] = it.Next()
				if err := it.Error(); err != nil {
					fail("%s: held iterator over %s: %v", names[i], h.ks, err)
				}
			}
			if h.pos == len(h.expect) {
				if more[0] || more[1] {
					fail("held iterator over %s %x..%x: entries past the snapshot's %d (leveldb %v, memory %v)",
						h.ks, h.r.Start, h.r.Limit, len(h.expect), more[0], more[1])
				}
				return true
			}
			for i, it := range h.its {
				if got := (kv{string(it.Key()), string(it.Value())}); !more[i] || got != h.expect[h.pos] {
					fail("%s: held iterator over %s %x..%x entry %d = %q (more %v), want %q",
						names[i], h.ks, h.r.Start, h.r.Limit, h.pos, got, more[i], h.expect[h.pos])
				}
			}
			h.pos++
		}
		return false
	}
	reopen := func() {
		if err := lvl.Close(); err != nil {
			fail("Close: %v", err)
		}
		for _, h := range held {
			if h.its[0].Next() || !errors.Is(h.its[0].Error(), ErrClosed) {
				fail("leveldb iterator after engine Close: Error %v, want ErrClosed", h.its[0].Error())
			}
			if err := h.its[0].Close(); !errors.Is(err, ErrClosed) {
				fail("leveldb iterator Close after engine Close = %v, want ErrClosed", err)
			}
			if err := h.its[1].Close(); err != nil {
				fail("memory iterator Close: %v", err)
			}
		}
		held = nil
		lvl = open()
		compareAll()
	}

	for step = 0; step < steps; step++ {
		if step == steps/2 {
			reopen()
		}
		switch p := rng.IntN(100); {
		case p < 25: // put
			ks, k, v := randKeyspace(), randKey(), randValue()
			opts := WriteOptions{Sync: rng.IntN(50) == 0}
			for i, e := range engines() {
				if err := Put(e, ks, k, v, opts); err != nil {
					fail("%s: Put(%s, %x): %v", names[i], ks, k, err)
				}
			}
			want[ks][string(k)] = string(v)
		case p < 35: // delete
			ks, k := randKeyspace(), randKey()
			for i, e := range engines() {
				if err := Delete(e, ks, k, WriteOptions{}); err != nil {
					fail("%s: Delete(%s, %x): %v", names[i], ks, k, err)
				}
			}
			delete(want[ks], string(k))
		case p < 50: // batch mixing keyspaces, puts and deletes
			b := NewBatch()
			var apply []func()
			for range 1 + rng.IntN(8) {
				ks, k := randKeyspace(), randKey()
				if rng.IntN(3) == 0 {
					b.Delete(ks, k)
					apply = append(apply, func() { delete(want[ks], string(k)) })
				} else {
					v := randValue()
					b.Put(ks, k, v)
					apply = append(apply, func() { want[ks][string(k)] = string(v) })
				}
			}
			write(b, func() {
				for _, f := range apply {
					f()
				}
			}, WriteOptions{Sync: rng.IntN(50) == 0})
		case p < 70: // get
			ks, k := randKeyspace(), randKey()
			v, ok := want[ks][string(k)]
			for i, e := range engines() {
				got, err := e.Get(ks, k)
				switch {
				case !ok && !errors.Is(err, ErrNotFound):
					fail("%s: Get(%s, %x) = %x, %v; want ErrNotFound", names[i], ks, k, got, err)
				case ok && (err != nil || string(got) != v):
					fail("%s: Get(%s, %x) = %x, %v; want %x", names[i], ks, k, got, err, v)
				}
			}
		case p < 80: // scan
			compareScan(randKeyspace(), randRange())
		case p < 85: // open an iterator to hold across later operations
			if len(held) >= 4 {
				break
			}
			h := &heldIterator{ks: randKeyspace(), r: randRange()}
			h.expect = want.scan(h.ks, h.r)
			for i, e := range engines() {
				h.its[i] = e.NewIterator(h.ks, h.r)
			}
			held = append(held, h)
		case p < 97: // advance a held iterator
			if len(held) == 0 {
				break
			}
			j := rng.IntN(len(held))
			if advance(held[j], 1+rng.IntN(5)) {
				for i, it := range held[j].its {
					if err := it.Close(); err != nil {
						fail("%s: Close of exhausted iterator: %v", names[i], err)
					}
				}
				held = slices.Delete(held, j, j+1)
			}
		case p < 99: // bad arguments fail alike and change nothing
			var errs [2]error
			for i, e := range engines() {
				switch rng.IntN(3) {
				case 0:
					errs[i] = Put(e, randKeyspace(), nil, randValue(), WriteOptions{})
				case 1:
					_, errs[i] = e.Get(Keyspace(rng.IntN(256)|0x80), randKey())
				case 2:
					b := NewBatch()
					b.Put(randKeyspace(), randKey(), randValue())
					b.Delete(randKeyspace(), []byte{})
					errs[i] = e.Write(b, WriteOptions{})
				}
			}
			for i, err := range errs {
				if !errors.Is(err, ErrInvalid) {
					fail("%s: bad argument: %v, want ErrInvalid", names[i], err)
				}
			}
		default:
			reopen()
		}
	}
	for _, h := range held {
		if !advance(h, len(h.expect)+1) {
			fail("held iterator not exhausted after %d entries", len(h.expect))
		}
		for i, it := range h.its {
			if err := it.Close(); err != nil {
				fail("%s: Close of exhausted iterator: %v", names[i], err)
			}
		}
	}
	held = nil
	compareAll()
	reopen()
}
