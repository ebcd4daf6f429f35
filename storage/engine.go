package storage

import (
	"bytes"
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by engines wrap these; test with
// errors.Is.
var (
	// ErrNotFound is returned by Get when the key is absent.
	ErrNotFound = errors.New("storage: not found")
	// ErrClosed is returned by every operation on a closed engine or
	// iterator.
	ErrClosed = errors.New("storage: engine closed")
	// ErrLocked is returned when the data directory is already open, by
	// this or another process.
	ErrLocked = errors.New("storage: data directory in use by another process")
	// ErrInvalid is returned for bad arguments: nil batch, unknown
	// keyspace, empty key, inverted range, bad configuration.
	ErrInvalid = errors.New("storage: invalid argument")
	// ErrNoSpace is returned when the disk is full.
	ErrNoSpace = errors.New("storage: no space left on device")
	// ErrReadOnly is returned when the data directory cannot be written
	// (a read-only file system or permissions).
	ErrReadOnly = errors.New("storage: data directory not writable")
	// ErrCorrupt is returned when stored bytes cannot be decoded.
	ErrCorrupt = errors.New("storage: corrupt data")
)

// Keyspace selects one of the independent key ranges of an engine.
type Keyspace byte

// The keyspaces. Their values are the on-disk key prefix of the LevelDB
// engine and must not change.
const (
	KeyspaceData  Keyspace = 'd' // partition objects, keyed by ObjectKey
	KeyspaceHints Keyspace = 'h' // hinted-handoff records
	KeyspaceMeta  Keyspace = 'm' // node metadata such as the Identity
)

// String returns the keyspace's name.
func (ks Keyspace) String() string {
	switch ks {
	case KeyspaceData:
		return "data"
	case KeyspaceHints:
		return "hints"
	case KeyspaceMeta:
		return "meta"
	}
	return fmt.Sprintf("Keyspace(%#02x)", byte(ks))
}

func (ks Keyspace) validate() error {
	switch ks {
	case KeyspaceData, KeyspaceHints, KeyspaceMeta:
		return nil
	}
	return fmt.Errorf("%w: unknown keyspace %#02x", ErrInvalid, byte(ks))
}

func validateKey(ks Keyspace, key []byte) error {
	if err := ks.validate(); err != nil {
		return err
	}
	if len(key) == 0 {
		return fmt.Errorf("%w: empty key in keyspace %s", ErrInvalid, ks)
	}
	return nil
}

// WriteOptions control a single Write.
type WriteOptions struct {
	// Sync makes Write fsync before it returns, so that the batch survives
	// a machine crash. Without it a crash may lose recent writes (but never
	// part of a batch).
	Sync bool
}

// Range is the half-open key interval [Start, Limit) within one keyspace.
// A nil Start is the beginning of the keyspace; a nil Limit is its end.
type Range struct {
	Start, Limit []byte
}

func (r Range) validate() error {
	if r.Limit != nil && bytes.Compare(r.Start, r.Limit) > 0 {
		return fmt.Errorf("%w: range start %x is after limit %x", ErrInvalid, r.Start, r.Limit)
	}
	return nil
}

func (r Range) contains(key []byte) bool {
	return bytes.Compare(key, r.Start) >= 0 && (r.Limit == nil || bytes.Compare(key, r.Limit) < 0)
}

// Engine is an ordered key-value store with atomic batches and snapshot
// iterators. See the package documentation for the full contract.
type Engine interface {
	// Get returns a copy of the value stored under key, or an error
	// wrapping ErrNotFound.
	Get(ks Keyspace, key []byte) ([]byte, error)
	// Write applies b atomically. b may be reused once Write returns.
	Write(b *Batch, opts WriteOptions) error
	// NewIterator returns an iterator over r in ks, in ascending key
	// order, over a snapshot taken now. Errors, including bad arguments,
	// are reported by the iterator's Error method.
	NewIterator(ks Keyspace, r Range) Iterator
	// Close releases the engine. Open iterators stop with ErrClosed.
	// A second Close returns ErrClosed.
	Close() error
}

// Iterator walks a snapshot of a key range. Call Next before the first
// Key. It is not safe for concurrent use.
type Iterator interface {
	// Next advances to the next entry and reports whether there is one.
	Next() bool
	// Key returns the current key, without keyspace prefix. The slice is
	// the caller's to keep.
	Key() []byte
	// Value returns the current value. The slice is the caller's to keep.
	Value() []byte
	// Error returns the error that ended the iteration, if any; after
	// Close, ErrClosed if there was none.
	Error() error
	// Close releases the iterator and returns the error that ended the
	// iteration, if any. A second Close returns ErrClosed.
	Close() error
}

// errIterator is an iterator that failed before it started.
type errIterator struct {
	err    error
	closed bool
}

func (it *errIterator) Next() bool    { return false }
func (it *errIterator) Key() []byte   { return nil }
func (it *errIterator) Value() []byte { return nil }
func (it *errIterator) Error() error  { return it.err }
func (it *errIterator) Close() error {
	if it.closed {
		return ErrClosed
	}
	it.closed = true
	return it.err
}

// Compacter is an Engine that can compact a key range: rewrite the on-disk
// tables holding it so that deleted and overwritten records stop taking
// space (goleveldb keeps them until a compaction reaches them, which after
// a mass delete and no further writes may be never).
type Compacter interface {
	// Compact compacts r in ks. It runs beside reads and writes and may
	// take long (it rewrites every table overlapping r).
	Compact(ks Keyspace, r Range) error
}

// Compact compacts r in ks if e is a Compacter, and does nothing otherwise.
func Compact(e Engine, ks Keyspace, r Range) error {
	if c, ok := e.(Compacter); ok {
		return c.Compact(ks, r)
	}
	return nil
}

// Put stores value under key in ks as a batch of one.
func Put(e Engine, ks Keyspace, key, value []byte, opts WriteOptions) error {
	b := NewBatch()
	b.Put(ks, key, value)
	return e.Write(b, opts)
}

// Delete removes key from ks as a batch of one. Deleting an absent key is
// not an error.
func Delete(e Engine, ks Keyspace, key []byte, opts WriteOptions) error {
	b := NewBatch()
	b.Delete(ks, key)
	return e.Write(b, opts)
}
