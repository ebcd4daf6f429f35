package hints

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// Errors.
var (
	// ErrInvalid marks a bad argument.
	ErrInvalid = errors.New("hints: invalid")
	// ErrCorrupt marks a stored hint that does not decode.
	ErrCorrupt = errors.New("hints: stored hint corrupt")
)

// Config configures a Store.
type Config struct {
	// Sync makes every Put fsync before it returns, so that an
	// acknowledged hint survives a crash. Default true. Deletes never
	// fsync (a lost delete means one more, idempotent, delivery).
	Sync bool
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{Sync: true} }

// Hint is one stored hint.
type Hint struct {
	Owner     string
	Partition uint32
	Key       []byte
	// Set is nil when the stored record is corrupt.
	Set *version.Set
	// Digest is the SHA-256 of the stored bytes: it identifies exactly
	// this stored version of the hint (Delete checks it).
	Digest [32]byte
}

// Position is where a scan of one owner's hints resumes: right after the
// hint (Partition, Key), or, when Key is empty, at the beginning of
// Partition. The zero Position is the start.
type Position struct {
	Partition uint32
	Key       []byte
}

// OwnerCount is how many hints are held for one owner.
type OwnerCount struct {
	Owner string
	Hints int
}

// Stats are the store's counters.
type Stats struct {
	Hints   int    // hints held
	Stored  uint64 // hint writes (Put calls that wrote)
	Deleted uint64 // hints deleted
	Corrupt uint64 // stored records found corrupt, by Open's scan, Get and Next
}

// Store is the hints of one node. It is not safe for concurrent use.
type Store struct {
	e      storage.Engine
	opts   storage.WriteOptions
	counts map[string]int // hints per owner; owners with none are absent
	total  int
	stats  Stats
}

// Open returns the store of the hints in e, counting them per owner with
// one scan of storage.KeyspaceHints. Corrupt records are counted (Stats),
// not fatal.
func Open(e storage.Engine, cfg Config) (*Store, error) {
	if e == nil {
		return nil, fmt.Errorf("%w: engine: nil", ErrInvalid)
	}
	s := &Store{e: e, opts: storage.WriteOptions{Sync: cfg.Sync}, counts: map[string]int{}}
	it := e.NewIterator(storage.KeyspaceHints, storage.Range{})
	defer it.Close()
	for it.Next() {
		owner, _, _, err := parseHintKey(it.Key())
		if err != nil {
			s.stats.Corrupt++
			continue
		}
		if _, err := version.Unmarshal(it.Value()); err != nil {
			s.stats.Corrupt++
		}
		s.counts[owner]++
		s.total++
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("hints: counting the stored hints: %w", err)
	}
	return s, nil
}

// decode turns stored bytes into a set, nil and an error wrapping
// ErrCorrupt when they do not decode.
func (s *Store) decode(owner string, partition uint32, raw []byte) (*version.Set, error) {
	set, err := version.Unmarshal(raw)
	if err != nil {
		s.stats.Corrupt++
		return nil, fmt.Errorf("%w: owner %s partition %d: %v", ErrCorrupt, owner, partition, err)
	}
	return set, nil
}

// load reads the stored hint: its raw bytes (nil when absent) and its set
// (nil when absent or corrupt, with an error wrapping ErrCorrupt).
func (s *Store) load(owner string, partition uint32, hk []byte) (raw []byte, set *version.Set, err error) {
	raw, err = s.e.Get(storage.KeyspaceHints, hk)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("hints: reading hint for %s partition %d: %w", owner, partition, err)
	}
	set, err = s.decode(owner, partition, raw)
	return raw, set, err
}

// Put merges set into the hint held for (owner, partition, key) with
// version.Sync. It writes nothing, and returns false, when the stored hint
// already descends set or set is empty. A corrupt stored hint is replaced.
// It fsyncs when Config.Sync is set.
func (s *Store) Put(owner string, partition uint32, key []byte, set *version.Set) (bool, error) {
	return s.PutWith(owner, partition, key, set, s.opts)
}

// PutWith is Put with explicit write options: a coordinator's own hint,
// which the client's acknowledgement does not wait for, is written without
// fsync (it survives a process crash, not a power loss).
func (s *Store) PutWith(owner string, partition uint32, key []byte, set *version.Set, opts storage.WriteOptions) (bool, error) {
	if err := checkOwner(owner); err != nil {
		return false, err
	}
	if err := checkKey(key); err != nil {
		return false, err
	}
	if set == nil {
		return false, fmt.Errorf("%w: set: nil", ErrInvalid)
	}
	if set.IsEmpty() {
		return false, nil
	}
	hk := hintKey(owner, partition, key)
	raw, existing, err := s.load(owner, partition, hk)
	if raw == nil && err != nil {
		return false, err // storage error
	}
	isNew := raw == nil
	if existing != nil && version.Descends(existing, set) {
		return false, nil
	}
	merged := version.Sync(existing, set)
	value, err := version.Marshal(merged)
	if err != nil {
		return false, fmt.Errorf("hints: encoding hint for %s partition %d: %w", owner, partition, err)
	}
	b := storage.NewBatch()
	b.Put(storage.KeyspaceHints, hk, value)
	if err := s.e.Write(b, opts); err != nil {
		return false, fmt.Errorf("hints: writing hint for %s partition %d: %w", owner, partition, err)
	}
	if isNew {
		s.counts[owner]++
		s.total++
	}
	s.stats.Stored++
	return true, nil
}

// Get returns the hint held for (owner, partition, key), nil when there is
// none. A corrupt stored hint is reported as an error wrapping ErrCorrupt.
func (s *Store) Get(owner string, partition uint32, key []byte) (*version.Set, error) {
	if err := checkOwner(owner); err != nil {
		return nil, err
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	_, set, err := s.load(owner, partition, hintKey(owner, partition, key))
	return set, err
}

// Next returns up to limit hints of owner after pos, in (partition, key)
// order, and the position after the last one returned. An empty result
// means the end; the position returned with it is pos.
func (s *Store) Next(owner string, pos Position, limit int) ([]Hint, Position, error) {
	if err := checkOwner(owner); err != nil {
		return nil, pos, err
	}
	if limit < 1 {
		return nil, pos, fmt.Errorf("%w: limit: %d, must be at least 1", ErrInvalid, limit)
	}
	r := storage.PrefixRange(ownerPrefix(owner))
	r.Start = hintKey(owner, pos.Partition, pos.Key)
	if len(pos.Key) > 0 {
		r.Start = append(r.Start, 0) // the smallest key after pos
	}
	it := s.e.NewIterator(storage.KeyspaceHints, r)
	defer it.Close()
	var out []Hint
	for len(out) < limit && it.Next() {
		_, partition, key, err := parseHintKey(it.Key()) // the owner is owner: the range is its prefix
		if err != nil {
			continue // no hint of anyone (Open counted it)
		}
		raw := it.Value()
		set, _ := s.decode(owner, partition, raw)
		out = append(out, Hint{Owner: owner, Partition: partition, Key: key, Set: set, Digest: sha256.Sum256(raw)})
	}
	if err := it.Error(); err != nil {
		return nil, pos, fmt.Errorf("hints: reading hints for %s: %w", owner, err)
	}
	if len(out) == 0 {
		return nil, pos, nil
	}
	last := out[len(out)-1]
	return out, Position{Partition: last.Partition, Key: bytes.Clone(last.Key)}, nil
}

// Delete removes h only if the stored record still has h.Digest, so that a
// hint merged again after h was read is kept. It returns whether it
// deleted. It removes corrupt records as well as sound ones.
func (s *Store) Delete(h Hint) (bool, error) {
	if err := checkOwner(h.Owner); err != nil {
		return false, err
	}
	if err := checkKey(h.Key); err != nil {
		return false, err
	}
	hk := hintKey(h.Owner, h.Partition, h.Key)
	raw, err := s.e.Get(storage.KeyspaceHints, hk)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("hints: reading hint for %s partition %d: %w", h.Owner, h.Partition, err)
	}
	if sha256.Sum256(raw) != h.Digest {
		return false, nil
	}
	b := storage.NewBatch()
	b.Delete(storage.KeyspaceHints, hk)
	if err := s.e.Write(b, storage.WriteOptions{}); err != nil {
		return false, fmt.Errorf("hints: deleting hint for %s partition %d: %w", h.Owner, h.Partition, err)
	}
	if s.counts[h.Owner]--; s.counts[h.Owner] <= 0 {
		delete(s.counts, h.Owner)
	}
	s.total--
	s.stats.Deleted++
	return true, nil
}

// Owners returns the owners that have hints, sorted by name, with their
// counts.
func (s *Store) Owners() []OwnerCount {
	out := make([]OwnerCount, 0, len(s.counts))
	for o, n := range s.counts {
		out = append(out, OwnerCount{Owner: o, Hints: n})
	}
	slices.SortFunc(out, func(a, b OwnerCount) int { return strings.Compare(a.Owner, b.Owner) })
	return out
}

// Len returns the number of hints held.
func (s *Store) Len() int { return s.total }

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := s.stats
	st.Hints = s.total
	return st
}
