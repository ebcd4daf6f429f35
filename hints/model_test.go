package hints

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/internal/testseed"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
)

type modelKey struct {
	owner     string
	partition uint32
	key       string
}

// modelHint is the expected stored record: its bytes, its set (nil when
// the record is corrupt) and its stored time; timeless records (corrupt,
// or written by an earlier version) count as stored at the last Open.
type modelHint struct {
	set      *version.Set
	raw      []byte
	ms       int64
	timeless bool
}

// TestRandomizedAgainstModel runs one random sequence of puts (new, newer,
// older and concurrent sets), deletes (of current and stale hints), scans
// (all, or those stored by a time), corruptions, records of the earlier
// format, failing writes, clock steps and reopens against a Store and a
// plain map, and compares every result: hints, stored times, bytes, ages.
func TestRandomizedAgainstModel(t *testing.T) {
	rng, seed := testseed.New(t)
	steps := 3000
	if testing.Short() {
		steps = 500
	}
	var step int
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (DYNAMO_SEED=%d) step %d: %s", seed, seed, step, fmt.Sprintf(format, args...))
	}

	owners := []string{"n1", "n10", "n2", strings.Repeat("\xff", maxOwnerLen)}
	partitions := []uint32{0, 1, math.MaxUint32}
	keys := []string{"a", "a\x00", "b", "\xff"}
	actors := []string{"a@1", "b@1", "c@1"}

	errDisk := errors.New("injected disk error")
	faults := storage.FailOps(errDisk, storage.OpWrite)
	faults.SetEnabled(false)
	e := storage.NewFaulty(storage.NewMemory(), faults)

	model := map[modelKey]modelHint{}
	history := map[modelKey][]*version.Set{} // every set put, for older and concurrent puts
	dots := map[string]uint64{}              // highest counter per actor, so dots stay unique
	var seen []Hint                          // hints returned by Next, current or stale
	var stored, deleted uint64               // since the last Open
	var totalStored, totalDeleted int

	nowMs := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	cfg := Config{Now: func() time.Time { return time.UnixMilli(nowMs) }}
	var s *Store
	reopen := func() {
		var err error
		if s, err = Open(e, cfg); err != nil {
			fail("Open: %v", err)
		}
		for mk, h := range model {
			if h.timeless {
				h.ms = nowMs
				model[mk] = h
			}
		}
		stored, deleted = 0, 0
		corrupt := 0
		for _, h := range model {
			if h.set == nil {
				corrupt++
			}
		}
		if got := s.Stats().Corrupt; got != uint64(corrupt) {
			fail("Open counted %d corrupt hints, the model holds %d", got, corrupt)
		}
	}
	reopen()

	pick := func() modelKey {
		return modelKey{owners[rng.IntN(len(owners))], partitions[rng.IntN(len(partitions))], keys[rng.IntN(len(keys))]}
	}
	expected := func(owner string) []modelKey {
		var out []modelKey
		for mk := range model {
			if mk.owner == owner {
				out = append(out, mk)
			}
		}
		slices.SortFunc(out, func(a, b modelKey) int {
			return cmp.Or(cmp.Compare(a.partition, b.partition), strings.Compare(a.key, b.key))
		})
		return out
	}
	check := func() {
		t.Helper()
		counts := map[string]int{}
		for mk := range model {
			counts[mk.owner]++
		}
		var want []OwnerCount
		for o, n := range counts {
			want = append(want, OwnerCount{o, n})
		}
		slices.SortFunc(want, func(a, b OwnerCount) int { return strings.Compare(a.Owner, b.Owner) })
		if got := s.Owners(); !slices.Equal(got, want) {
			fail("Owners %v, model %v", got, want)
		}
		st := s.Stats()
		if s.Len() != len(model) || st.Hints != len(model) || st.Stored != stored || st.Deleted != deleted {
			fail("Len %d Stats %+v, model holds %d, stored %d, deleted %d", s.Len(), st, len(model), stored, deleted)
		}
		var total int64
		for _, o := range owners {
			var bytes int64
			perSec := map[int64]int64{}
			for mk, h := range model {
				if mk.owner == o {
					size := int64(len(hintKey(mk.owner, mk.partition, []byte(mk.key))) + len(h.raw))
					bytes += size
					perSec[floorSec(h.ms)] += size
				}
			}
			total += bytes
			if got := s.Bytes(o); got != bytes {
				fail("Bytes(%q) %d, model %d", o, got, bytes)
			}
			oldest, ok := s.OldestMs(o)
			var secs []int64
			for sec := range perSec {
				secs = append(secs, sec)
			}
			slices.Sort(secs)
			if ok != (len(secs) > 0) || (ok && oldest != secs[0]*1000) {
				fail("OldestMs(%q) %d %v, model seconds %v", o, oldest, ok, secs)
			}
			maxBytes := rng.Int64N(bytes + 2)
			cut, over := s.SizeCutoff(o, maxBytes)
			var wantCut int64
			wantOver := bytes > maxBytes
			for i, sum := 0, int64(0); wantOver && i < len(secs); i++ {
				if sum += perSec[secs[i]]; sum >= bytes-maxBytes {
					wantCut = secs[i]*1000 + 999
					break
				}
			}
			if over != wantOver || cut != wantCut {
				fail("SizeCutoff(%q, %d) %d %v, model %d %v (seconds %v)", o, maxBytes, cut, over, wantCut, wantOver, secs)
			}
		}
		if st.Bytes != total {
			fail("Stats.Bytes %d, model %d", st.Bytes, total)
		}
	}

	for step = range steps {
		faults.SetEnabled(rng.IntN(10) == 0)
		if rng.IntN(3) == 0 {
			nowMs += rng.Int64N(3000) - 200 // the clock may step back a little
		}
		switch op := rng.IntN(21); {
		case op < 9: // Put
			mk := pick()
			var set *version.Set
			if old := history[mk]; len(old) > 0 && rng.IntN(4) == 0 {
				set = old[rng.IntN(len(old))] // again, or older than the hint
			} else {
				var base *version.Set
				switch rng.IntN(3) {
				case 0: // a blind write: concurrent with everything
				case 1:
					base = model[mk].set // supersedes the hint
				case 2:
					if old := history[mk]; len(old) > 0 {
						base = old[rng.IntN(len(old))] // concurrent with later writes
					}
				}
				actor := actors[rng.IntN(len(actors))]
				var err error
				set, err = version.Update(base, base.Context(), version.Write{Value: fmt.Appendf(nil, "v%d", step), Timestamp: int64(step), Floor: dots[actor]}, actor, int64(step))
				if err != nil {
					fail("Update: %v", err)
				}
				dots[actor] = set.Clock().Get(actor)
				history[mk] = append(history[mk], set)
			}
			cur, exists := model[mk]
			wantWrite := !exists || cur.set == nil || !version.Descends(cur.set, set)
			wrote, err := s.Put(mk.owner, mk.partition, []byte(mk.key), set)
			switch {
			case wantWrite && faults.Enabled():
				if wrote || !errors.Is(err, errDisk) {
					fail("Put %v under a failing disk: %v %v", mk, wrote, err)
				}
			case err != nil || wrote != wantWrite:
				fail("Put %v: wrote %v err %v, model says write %v", mk, wrote, err, wantWrite)
			case wantWrite:
				merged := version.Sync(cur.set, set)
				ms := nowMs
				if exists && cur.set != nil {
					ms = min(cur.ms, nowMs) // a merge keeps the oldest write's time
				}
				raw, err := encodeRecord(merged, ms)
				if err != nil {
					fail("encode: %v", err)
				}
				model[mk] = modelHint{set: merged, raw: raw, ms: ms}
				stored++
				totalStored++
			}
		case op < 13: // Delete a hint read earlier, current or stale
			if len(seen) == 0 {
				continue
			}
			h := seen[rng.IntN(len(seen))]
			mk := modelKey{h.Owner, h.Partition, string(h.Key)}
			cur, exists := model[mk]
			wantDelete := exists && sha256.Sum256(cur.raw) == h.Digest
			ok, err := s.Delete(h)
			switch {
			case wantDelete && faults.Enabled():
				if ok || !errors.Is(err, errDisk) {
					fail("Delete %v under a failing disk: %v %v", mk, ok, err)
				}
			case err != nil || ok != wantDelete:
				fail("Delete %v: deleted %v err %v, model says delete %v", mk, ok, err, wantDelete)
			case wantDelete:
				delete(model, mk)
				deleted++
				totalDeleted++
			}
		case op < 17: // Scan one owner, all of its hints or those stored by a time
			owner := owners[rng.IntN(len(owners))]
			limit := 1 + rng.IntN(5)
			var got []Hint
			want := expected(owner)
			if rng.IntN(2) == 0 {
				got = all(t, s, owner, limit) // fails if a page is too long or does not advance
			} else {
				by := nowMs - rng.Int64N(20000)
				got = storedBy(t, s, owner, limit, by)
				want = slices.DeleteFunc(want, func(mk modelKey) bool { return model[mk].ms > by })
			}
			if len(got) != len(want) {
				fail("Next over %q: %v, model %v", owner, ids(got), want)
			}
			for i, h := range got {
				mk := modelKey{h.Owner, h.Partition, string(h.Key)}
				m := model[mk]
				size := len(hintKey(mk.owner, mk.partition, []byte(mk.key))) + len(m.raw)
				if mk != want[i] || h.Digest != sha256.Sum256(m.raw) || (h.Set == nil) != (m.set == nil) || (m.set != nil && !version.Equal(h.Set, m.set)) ||
					h.StoredMs != m.ms || h.Size != size {
					fail("Next over %q: hint %d is %v (digest %x), model %v", owner, i, mk, h.Digest, want[i])
				}
			}
			seen = append(seen, got...)
		case op < 18: // Get
			mk := pick()
			got, err := s.Get(mk.owner, mk.partition, []byte(mk.key))
			m, exists := model[mk]
			switch {
			case exists && m.set == nil:
				if got != nil || !errors.Is(err, ErrCorrupt) {
					fail("Get of corrupt %v: %v %v", mk, got, err)
				}
			case err != nil || (got == nil) != !exists || (exists && !version.Equal(got, m.set)):
				fail("Get %v: %v %v, model %v", mk, got, err, m.set)
			}
		case op < 19: // Corrupt a record behind the store's back, then reopen
			mk := pick()
			raw := fmt.Appendf(nil, "\xffgarbage %d", step)
			corrupt := modelHint{raw: raw, timeless: true}
			if rng.IntN(2) == 0 {
				// A readable record with a time whose set does not decode
				// (a sibling without a dot): a corrupt hint with a time.
				ms := nowMs - rng.Int64N(5000)
				var err error
				raw, err = proto.Marshal(&messages.HintRecord{Format: RecordFormat, StoredMs: ms,
					Set: &messages.VersionSet{Siblings: []*messages.Sibling{{Value: []byte("no dot")}}}})
				if err != nil {
					fail("marshal: %v", err)
				}
				corrupt = modelHint{raw: raw, ms: ms}
			}
			faults.SetEnabled(false)
			if err := storage.Put(e, storage.KeyspaceHints, hintKey(mk.owner, mk.partition, []byte(mk.key)), raw, storage.WriteOptions{}); err != nil {
				fail("corrupting: %v", err)
			}
			model[mk] = corrupt
			reopen()
		case op < 20: // A record of the earlier format (a bare StoredObject, no time), then reopen
			mk := pick()
			set := write(t, "old@1", fmt.Sprintf("old %d", step))
			if old := history[mk]; len(old) > 0 && rng.IntN(2) == 0 {
				set = old[rng.IntN(len(old))]
			}
			raw, err := version.Marshal(set)
			if err != nil {
				fail("Marshal: %v", err)
			}
			faults.SetEnabled(false)
			if err := storage.Put(e, storage.KeyspaceHints, hintKey(mk.owner, mk.partition, []byte(mk.key)), raw, storage.WriteOptions{}); err != nil {
				fail("writing an old record: %v", err)
			}
			model[mk] = modelHint{set: set, raw: raw, timeless: true}
			reopen()
		default:
			reopen()
		}
		check()
	}
	if totalStored == 0 || totalDeleted == 0 || len(seen) == 0 {
		t.Fatalf("seed %d: the run tested little: %d writes, %d deletes, %d hints read", seed, totalStored, totalDeleted, len(seen))
	}
}

func floorSec(ms int64) int64 {
	sec := ms / 1000
	if ms%1000 < 0 {
		sec--
	}
	return sec
}

// storedBy pages through owner's hints stored at or before by with
// NextStoredBy, limit at a time.
func storedBy(t *testing.T, s *Store, owner string, limit int, by int64) []Hint {
	t.Helper()
	var out []Hint
	var pos Position
	for calls := 0; ; calls++ {
		if calls > 10000 {
			t.Fatal("NextStoredBy never reports done")
		}
		batch, next, done, err := s.NextStoredBy(owner, pos, limit, by)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) > limit {
			t.Fatalf("NextStoredBy returned %d hints, limit %d", len(batch), limit)
		}
		for _, h := range batch {
			if h.StoredMs > by {
				t.Fatalf("NextStoredBy(%d) returned a hint stored at %d", by, h.StoredMs)
			}
		}
		out = append(out, batch...)
		if done {
			return out
		}
		if !after(next, pos) {
			t.Fatalf("NextStoredBy did not advance: from %v to %v", pos, next)
		}
		pos = next
	}
}
