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

	"github.com/dynamokv/dynamo/internal/testseed"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

type modelKey struct {
	owner     string
	partition uint32
	key       string
}

// modelHint is the expected stored record: its bytes, and its set (nil
// when the record is corrupt).
type modelHint struct {
	set *version.Set
	raw []byte
}

// TestRandomizedAgainstModel runs one random sequence of puts (new, newer,
// older and concurrent sets), deletes (of current and stale hints), scans,
// corruptions, failing writes and reopens against a Store and a plain map,
// and compares every result.
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

	var s *Store
	reopen := func() {
		var err error
		if s, err = Open(e, Config{}); err != nil {
			fail("Open: %v", err)
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
	}

	for step = range steps {
		faults.SetEnabled(rng.IntN(10) == 0)
		switch op := rng.IntN(20); {
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
				raw, err := version.Marshal(merged)
				if err != nil {
					fail("Marshal: %v", err)
				}
				model[mk] = modelHint{set: merged, raw: raw}
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
		case op < 17: // Scan one owner
			owner := owners[rng.IntN(len(owners))]
			limit := 1 + rng.IntN(5)
			got := all(t, s, owner, limit) // fails if a page is too long or does not advance
			want := expected(owner)
			if len(got) != len(want) {
				fail("Next over %q: %v, model %v", owner, ids(got), want)
			}
			for i, h := range got {
				mk := modelKey{h.Owner, h.Partition, string(h.Key)}
				m := model[mk]
				if mk != want[i] || h.Digest != sha256.Sum256(m.raw) || (h.Set == nil) != (m.set == nil) || (m.set != nil && !version.Equal(h.Set, m.set)) {
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
			faults.SetEnabled(false)
			if err := storage.Put(e, storage.KeyspaceHints, hintKey(mk.owner, mk.partition, []byte(mk.key)), raw, storage.WriteOptions{}); err != nil {
				fail("corrupting: %v", err)
			}
			model[mk] = modelHint{raw: raw}
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
