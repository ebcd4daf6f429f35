package hints

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
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
	// Now is the clock hints are stamped with. Default time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{Sync: true, Now: time.Now} }

// RecordFormat is the format number of a stored hint (messages.HintRecord;
// it equals version.ObjectFormat, which an earlier release wrote).
const RecordFormat = 1

// scanFactor bounds the records NextStoredBy reads per hint it may return,
// so that one call stays short however few hints it finds.
const scanFactor = 16

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
	// StoredMs is when this node stored the oldest write the hint holds
	// (Unix milliseconds): the time of the Put that created it, kept by
	// later merges. A record that carries no time (written by an earlier
	// version, or unreadable) counts as stored when the Store was opened.
	StoredMs int64
	// Size is what the hint counts for against a bound: the bytes of its
	// storage key and stored value.
	Size int
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
	Bytes   int64  // their bytes: storage key plus encoded value
	Stored  uint64 // hint writes (Put calls that wrote)
	Deleted uint64 // hints deleted
	Corrupt uint64 // stored records found corrupt, by Open's scan, Get and Next
}

// Store is the hints of one node. It is not safe for concurrent use.
type Store struct {
	e      storage.Engine
	opts   storage.WriteOptions
	now    func() time.Time
	opened int64          // Unix ms of Open: the stored time of records that carry none
	counts map[string]int // hints per owner; owners with none are absent
	total  int
	// bytes is the Size of the hints per owner, ages the same bytes per
	// second they were stored in (owners and seconds with none absent).
	bytes      map[string]int64
	ages       map[string]map[int64]int64
	totalBytes int64
	stats      Stats
}

// Open returns the store of the hints in e, counting them, and their bytes
// and ages, per owner with one scan of storage.KeyspaceHints. Corrupt
// records are counted (Stats), not fatal.
func Open(e storage.Engine, cfg Config) (*Store, error) {
	if e == nil {
		return nil, fmt.Errorf("%w: engine: nil", ErrInvalid)
	}
	s := &Store{e: e, opts: storage.WriteOptions{Sync: cfg.Sync}, now: cfg.Now, counts: map[string]int{}}
	s.opened = s.clock().UnixMilli()
	it := e.NewIterator(storage.KeyspaceHints, storage.Range{})
	defer it.Close()
	for it.Next() {
		owner, _, _, err := parseHintKey(it.Key())
		if err != nil {
			s.stats.Corrupt++
			continue
		}
		raw := it.Value()
		rec, err := parseRecord(raw)
		ms := s.storedMs(rec, err)
		if err == nil {
			_, err = rec.decodeSet()
		}
		if err != nil {
			s.stats.Corrupt++
		}
		s.counts[owner]++
		s.total++
		s.account(owner, ms, len(it.Key())+len(raw), 1)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("hints: counting the stored hints: %w", err)
	}
	return s, nil
}

func (s *Store) clock() time.Time {
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

// record is a stored value, parsed but its set not yet decoded.
type record struct {
	set      []byte // an encoded messages.VersionSet
	storedMs int64  // 0: none
}

// encodeRecord is the stored value of a hint: a messages.HintRecord with
// the set and the time it was first stored (owner, partition and key are
// the storage key's). Its layout is a StoredObject's plus the time, so an
// earlier release reads the set after a downgrade.
func encodeRecord(set *version.Set, storedMs int64) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(&messages.HintRecord{Format: RecordFormat, Set: version.ToProto(set), StoredMs: storedMs})
}

// parseRecord reads a stored value: a messages.HintRecord, or, as earlier
// releases wrote, a bare messages.StoredObject (the same fields 1 and 2,
// no time).
func parseRecord(raw []byte) (record, error) {
	var p messages.HintRecord
	if err := proto.Unmarshal(raw, &p); err != nil {
		return record{}, err
	}
	if p.GetFormat() != RecordFormat {
		return record{}, fmt.Errorf("hint format %d is not known to this node (it reads format %d)", p.GetFormat(), RecordFormat)
	}
	if p.GetSet() == nil {
		return record{}, errors.New("no version set")
	}
	set, err := proto.MarshalOptions{Deterministic: true}.Marshal(p.GetSet())
	if err != nil {
		return record{}, err
	}
	return record{set: set, storedMs: p.GetStoredMs()}, nil
}

func (r record) decodeSet() (*version.Set, error) {
	var p messages.VersionSet
	if err := proto.Unmarshal(r.set, &p); err != nil {
		return nil, err
	}
	return version.FromProto(&p)
}

// storedMs is the stored time of a record parsed with err: its own, else
// (it has none, or does not parse) the time of Open. It depends on the
// parse alone, not on the set decoding, so that Open, Put, Delete and the
// scans account a record at the same time.
func (s *Store) storedMs(rec record, err error) int64 {
	if err != nil || rec.storedMs <= 0 {
		return s.opened
	}
	return rec.storedMs
}

// storedMsOf is the stored time of raw (parsed, its set not decoded).
func (s *Store) storedMsOf(raw []byte) int64 {
	rec, err := parseRecord(raw)
	return s.storedMs(rec, err)
}

// account adds (sign 1) or removes (sign -1) a record of size bytes
// stored at ms to owner's bytes and ages.
func (s *Store) account(owner string, ms int64, size int, sign int64) {
	if s.bytes == nil {
		s.bytes = map[string]int64{}
	}
	if s.ages == nil {
		s.ages = map[string]map[int64]int64{}
	}
	d := sign * int64(size)
	s.totalBytes += d
	if s.bytes[owner] += d; s.bytes[owner] <= 0 {
		delete(s.bytes, owner)
	}
	sec := ms / 1000
	if ms%1000 < 0 {
		sec--
	}
	a := s.ages[owner]
	if a == nil {
		a = map[int64]int64{}
		s.ages[owner] = a
	}
	if a[sec] += d; a[sec] <= 0 {
		delete(a, sec)
	}
	if len(a) == 0 {
		delete(s.ages, owner)
	}
}

// decode turns stored bytes into a set and its stored time; the set is
// nil, with an error wrapping ErrCorrupt, when they do not decode.
func (s *Store) decode(owner string, partition uint32, raw []byte) (*version.Set, int64, error) {
	rec, err := parseRecord(raw)
	ms := s.storedMs(rec, err)
	var set *version.Set
	if err == nil {
		set, err = rec.decodeSet()
	}
	if err != nil {
		s.stats.Corrupt++
		return nil, ms, fmt.Errorf("%w: owner %s partition %d: %v", ErrCorrupt, owner, partition, err)
	}
	return set, ms, nil
}

// load reads the stored hint: its raw bytes (nil when absent), its set
// (nil when absent or corrupt, with an error wrapping ErrCorrupt) and its
// stored time.
func (s *Store) load(owner string, partition uint32, hk []byte) (raw []byte, set *version.Set, ms int64, err error) {
	raw, err = s.e.Get(storage.KeyspaceHints, hk)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, 0, nil
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("hints: reading hint for %s partition %d: %w", owner, partition, err)
	}
	set, ms, err = s.decode(owner, partition, raw)
	return raw, set, ms, err
}

// Put merges set into the hint held for (owner, partition, key) with
// version.Sync. It writes nothing, and returns false, when the stored hint
// already descends set or set is empty. A corrupt stored hint is replaced.
// A new hint is stamped with the time of Config.Now; a merged one keeps the
// earlier of its time and now, so a hint's age is its oldest write's. It
// fsyncs when Config.Sync is set.
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
	raw, existing, oldMs, err := s.load(owner, partition, hk)
	if raw == nil && err != nil {
		return false, err // storage error
	}
	isNew := raw == nil
	if existing != nil && version.Descends(existing, set) {
		return false, nil
	}
	storedMs := s.clock().UnixMilli()
	if existing != nil {
		storedMs = min(oldMs, storedMs) // a corrupt one is replaced: its time goes with it
	}
	merged := version.Sync(existing, set)
	value, err := encodeRecord(merged, storedMs)
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
	} else {
		s.account(owner, oldMs, len(hk)+len(raw), -1)
	}
	s.account(owner, storedMs, len(hk)+len(value), 1)
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
	_, set, _, err := s.load(owner, partition, hintKey(owner, partition, key))
	return set, err
}

// Next returns up to limit hints of owner after pos, in (partition, key)
// order, and the position after the last one returned. An empty result
// means the end; the position returned with it is pos.
func (s *Store) Next(owner string, pos Position, limit int) ([]Hint, Position, error) {
	out, next, _, err := s.scan(owner, pos, limit, 0, false)
	return out, next, err
}

// NextStoredBy is Next for the hints of owner stored at or before byMs
// (Unix milliseconds): it returns up to limit of them after pos, in
// (partition, key) order, reading at most 16 records per hint it may
// return and decoding only the sets of those it returns. next is the
// position after the last record read, done reports that there are no
// more records after it. An empty result with done false is no end.
func (s *Store) NextStoredBy(owner string, pos Position, limit int, byMs int64) (hs []Hint, next Position, done bool, err error) {
	return s.scan(owner, pos, limit, byMs, true)
}

func (s *Store) scan(owner string, pos Position, limit int, byMs int64, filter bool) ([]Hint, Position, bool, error) {
	if err := checkOwner(owner); err != nil {
		return nil, pos, false, err
	}
	if limit < 1 {
		return nil, pos, false, fmt.Errorf("%w: limit: %d, must be at least 1", ErrInvalid, limit)
	}
	r := storage.PrefixRange(ownerPrefix(owner))
	r.Start = hintKey(owner, pos.Partition, pos.Key)
	if len(pos.Key) > 0 {
		r.Start = append(r.Start, 0) // the smallest key after pos
	}
	it := s.e.NewIterator(storage.KeyspaceHints, r)
	defer it.Close()
	var out []Hint
	next, read, done := pos, 0, true
	for len(out) < limit {
		if filter && read >= limit*scanFactor {
			done = false
			break
		}
		if !it.Next() {
			break
		}
		_, partition, key, err := parseHintKey(it.Key()) // the owner is owner: the range is its prefix
		if err != nil {
			continue // no hint of anyone (Open counted it)
		}
		read++
		raw := it.Value()
		size := len(it.Key()) + len(raw)
		if filter {
			next = Position{Partition: partition, Key: bytes.Clone(key)}
			if s.storedMsOf(raw) > byMs {
				continue
			}
		}
		set, ms, _ := s.decode(owner, partition, raw)
		out = append(out, Hint{Owner: owner, Partition: partition, Key: bytes.Clone(key), Set: set, Digest: sha256.Sum256(raw), StoredMs: ms, Size: size})
	}
	if err := it.Error(); err != nil {
		return nil, pos, false, fmt.Errorf("hints: reading hints for %s: %w", owner, err)
	}
	if len(out) == limit {
		done = false // not known; the next call tells
	}
	if !filter {
		if len(out) == 0 {
			return nil, pos, true, nil
		}
		last := out[len(out)-1]
		next = Position{Partition: last.Partition, Key: bytes.Clone(last.Key)}
	}
	return out, next, done, nil
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
	s.account(h.Owner, s.storedMsOf(raw), len(hk)+len(raw), -1)
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

// Bytes returns the bytes (Hint.Size) of the hints held for owner.
func (s *Store) Bytes(owner string) int64 { return s.bytes[owner] }

// OldestMs returns when the oldest hint held for owner was stored, to the
// second (the start of its second, Unix milliseconds); false when there is
// none.
func (s *Store) OldestMs(owner string) (int64, bool) {
	a := s.ages[owner]
	if len(a) == 0 {
		return 0, false
	}
	first := true
	var oldest int64
	for sec := range a {
		if first || sec < oldest {
			oldest, first = sec, false
		}
	}
	return oldest * 1000, true
}

// SizeCutoff returns, when the hints held for owner take more than
// maxBytes, the end of the earliest second (Unix milliseconds, inclusive)
// such that the hints stored up to it take at least the excess: handing
// over the hints stored at or before it, oldest first to the second,
// brings owner's hints within maxBytes. False when they are within it.
func (s *Store) SizeCutoff(owner string, maxBytes int64) (int64, bool) {
	excess := s.bytes[owner] - maxBytes
	if excess <= 0 {
		return 0, false
	}
	a := s.ages[owner]
	secs := make([]int64, 0, len(a))
	for sec := range a {
		secs = append(secs, sec)
	}
	slices.Sort(secs)
	var sum int64
	for _, sec := range secs {
		if sum += a[sec]; sum >= excess {
			return sec*1000 + 999, true
		}
	}
	return secs[len(secs)-1]*1000 + 999, true
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := s.stats
	st.Hints = s.total
	st.Bytes = s.totalBytes
	return st
}
