package storage

import (
	"bytes"
	"slices"
	"sync"
)

// Memory is an in-memory Engine. It is a deliberately simple reference
// model: a map per keyspace, sorted when an iterator is created. It is safe
// for concurrent use.
type Memory struct {
	mu     sync.RWMutex
	closed bool
	data   map[Keyspace]map[string][]byte
}

var _ Engine = (*Memory)(nil)

// NewMemory returns an empty in-memory engine.
func NewMemory() *Memory {
	return &Memory{data: map[Keyspace]map[string][]byte{
		KeyspaceData:  {},
		KeyspaceHints: {},
		KeyspaceMeta:  {},
	}}
}

// Get implements Engine.
func (m *Memory) Get(ks Keyspace, key []byte) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	if err := validateKey(ks, key); err != nil {
		return nil, err
	}
	v, ok := m.data[ks][string(key)]
	if !ok {
		return nil, ErrNotFound
	}
	return append([]byte{}, v...), nil
}

// Write implements Engine. Every record is validated when it is added to
// the batch, so applying cannot fail half way.
func (m *Memory) Write(b *Batch, _ WriteOptions) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if err := checkBatch(b); err != nil {
		return err
	}
	for i := range b.Len() {
		ks, del, key, value := b.record(i)
		if del {
			delete(m.data[ks], string(key))
		} else {
			m.data[ks][string(key)] = append([]byte{}, value...)
		}
	}
	return nil
}

// NewIterator implements Engine. It copies the range out of the map.
func (m *Memory) NewIterator(ks Keyspace, r Range) Iterator {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return &errIterator{err: ErrClosed}
	}
	if err := ks.validate(); err != nil {
		return &errIterator{err: err}
	}
	if err := r.validate(); err != nil {
		return &errIterator{err: err}
	}
	var entries []memEntry
	for k, v := range m.data[ks] {
		if r.contains([]byte(k)) {
			entries = append(entries, memEntry{key: []byte(k), value: append([]byte{}, v...)})
		}
	}
	slices.SortFunc(entries, func(a, b memEntry) int { return bytes.Compare(a.key, b.key) })
	return &memIterator{m: m, entries: entries, pos: -1}
}

// Close implements Engine.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed = true
	m.data = nil
	return nil
}

type memEntry struct{ key, value []byte }

type memIterator struct {
	m       *Memory
	entries []memEntry
	pos     int
	err     error
	closed  bool
}

func (it *memIterator) Next() bool {
	if it.closed || it.err != nil || it.pos >= len(it.entries) {
		return false
	}
	it.m.mu.RLock()
	closed := it.m.closed
	it.m.mu.RUnlock()
	if closed {
		it.err = ErrClosed
		it.entries = nil
		return false
	}
	it.pos++
	return it.pos < len(it.entries)
}

func (it *memIterator) valid() bool {
	return !it.closed && it.err == nil && it.pos >= 0 && it.pos < len(it.entries)
}

func (it *memIterator) Key() []byte {
	if !it.valid() {
		return nil
	}
	return it.entries[it.pos].key
}

func (it *memIterator) Value() []byte {
	if !it.valid() {
		return nil
	}
	return it.entries[it.pos].value
}

func (it *memIterator) Error() error {
	if it.err == nil && it.closed {
		return ErrClosed
	}
	return it.err
}

func (it *memIterator) Close() error {
	if it.closed {
		return ErrClosed
	}
	it.closed = true
	it.entries = nil
	return it.err
}
