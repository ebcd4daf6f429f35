package storage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
)

// Op names an engine operation for fault injection.
type Op int

// The operations a Faulty engine asks its Injector about.
const (
	OpGet      Op = iota + 1 // Engine.Get
	OpWrite                  // Engine.Write
	OpIterate                // Engine.NewIterator
	OpIterNext               // each Iterator.Next; a fault ends the iteration
)

// String returns the operation's name.
func (op Op) String() string {
	switch op {
	case OpGet:
		return "get"
	case OpWrite:
		return "write"
	case OpIterate:
		return "iterate"
	case OpIterNext:
		return "iterator next"
	}
	return fmt.Sprintf("Op(%d)", int(op))
}

// Injector decides whether an operation fails. It must be safe for
// concurrent use.
type Injector interface {
	// MaybeError returns the error op on ks should fail with, or nil.
	// For OpWrite, ks is the keyspace of the batch's first record.
	MaybeError(op Op, ks Keyspace) error
}

// InjectorFunc adapts a function to the Injector interface.
type InjectorFunc func(op Op, ks Keyspace) error

// MaybeError implements Injector.
func (f InjectorFunc) MaybeError(op Op, ks Keyspace) error { return f(op, ks) }

// Faulty wraps an Engine and fails operations chosen by an Injector, to
// test how callers handle disk errors. A faulted operation never reaches
// the inner engine, so a failed Write applies nothing. Close is never
// faulted and closes the inner engine.
type Faulty struct {
	inner  Engine
	inject Injector
}

var _ Engine = (*Faulty)(nil)

// NewFaulty returns inner wrapped with inject.
func NewFaulty(inner Engine, inject Injector) *Faulty {
	return &Faulty{inner: inner, inject: inject}
}

func (f *Faulty) fault(op Op, ks Keyspace) error {
	if err := f.inject.MaybeError(op, ks); err != nil {
		return fmt.Errorf("storage: injected %s fault in %s: %w", op, ks, err)
	}
	return nil
}

// Get implements Engine.
func (f *Faulty) Get(ks Keyspace, key []byte) ([]byte, error) {
	if err := f.fault(OpGet, ks); err != nil {
		return nil, err
	}
	return f.inner.Get(ks, key)
}

// Write implements Engine.
func (f *Faulty) Write(b *Batch, opts WriteOptions) error {
	var ks Keyspace
	if b != nil && b.Len() > 0 {
		ks, _, _, _ = b.record(0)
	}
	if err := f.fault(OpWrite, ks); err != nil {
		return err
	}
	return f.inner.Write(b, opts)
}

// NewIterator implements Engine.
func (f *Faulty) NewIterator(ks Keyspace, r Range) Iterator {
	if err := f.fault(OpIterate, ks); err != nil {
		return &errIterator{err: err}
	}
	return &faultyIterator{Iterator: f.inner.NewIterator(ks, r), f: f, ks: ks}
}

// Close implements Engine.
func (f *Faulty) Close() error { return f.inner.Close() }

// Compact implements Compacter when the inner engine does (faults are not
// injected: a compaction changes no data).
func (f *Faulty) Compact(ks Keyspace, r Range) error { return Compact(f.inner, ks, r) }

type faultyIterator struct {
	Iterator
	f   *Faulty
	ks  Keyspace
	err error // injected
}

func (it *faultyIterator) Next() bool {
	if it.err != nil {
		return false
	}
	if it.err = it.f.fault(OpIterNext, it.ks); it.err != nil {
		return false
	}
	return it.Iterator.Next()
}

func (it *faultyIterator) Key() []byte {
	if it.err != nil {
		return nil
	}
	return it.Iterator.Key()
}

func (it *faultyIterator) Value() []byte {
	if it.err != nil {
		return nil
	}
	return it.Iterator.Value()
}

func (it *faultyIterator) Error() error {
	if it.err != nil {
		return it.err
	}
	return it.Iterator.Error()
}

func (it *faultyIterator) Close() error {
	err := it.Iterator.Close()
	if it.err != nil && err == nil {
		return it.err
	}
	return err
}

// FailAfter returns an Injector that fails the n-th and every later call
// of op with err, counting from 1; other operations never fail. n <= 1
// fails every call.
func FailAfter(n int, op Op, err error) Injector {
	return &failAfter{n: int64(n), op: op, err: err}
}

type failAfter struct {
	n     int64
	op    Op
	err   error
	calls atomic.Int64
}

func (f *failAfter) MaybeError(op Op, _ Keyspace) error {
	if op == f.op && f.calls.Add(1) >= f.n {
		return f.err
	}
	return nil
}

// Switch is an Injector, made by FailOps, that fails chosen operations
// while enabled; for example, a disk that fills up and then frees space.
type Switch struct {
	ops     []Op
	err     error
	enabled atomic.Bool
}

// FailOps returns an enabled Switch that fails ops (every operation if
// none are given) with err.
func FailOps(err error, ops ...Op) *Switch {
	s := &Switch{ops: slices.Clone(ops), err: err}
	s.enabled.Store(true)
	return s
}

// SetEnabled turns the faults on or off.
func (s *Switch) SetEnabled(on bool) { s.enabled.Store(on) }

// Enabled reports whether the faults are on.
func (s *Switch) Enabled() bool { return s.enabled.Load() }

// MaybeError implements Injector.
func (s *Switch) MaybeError(op Op, _ Keyspace) error {
	if s.enabled.Load() && (len(s.ops) == 0 || slices.Contains(s.ops, op)) {
		return s.err
	}
	return nil
}

// RandomErrors returns an Injector that fails each operation independently
// with probability p, deterministically for a given seed and sequence of
// calls.
func RandomErrors(seed int64, p float64, err error) Injector {
	return &randomErrors{rng: rand.New(rand.NewPCG(uint64(seed), 0)), p: p, err: err}
}

type randomErrors struct {
	mu  sync.Mutex
	rng *rand.Rand
	p   float64
	err error
}

func (r *randomErrors) MaybeError(Op, Keyspace) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rng.Float64() < r.p {
		return r.err
	}
	return nil
}
