package storage

import "fmt"

// Batch is an ordered list of puts and deletes applied atomically by
// Engine.Write. Put and Delete copy their arguments, so callers may reuse
// their buffers. A Batch is not safe for concurrent use.
//
// A record with a bad argument (unknown keyspace, empty key) is not added;
// instead the batch remembers the first such error and Write returns it
// without applying anything.
type Batch struct {
	recs []batchRecord
	data []byte // keys and values of all records, back to back
	err  error
}

type batchRecord struct {
	ks     Keyspace
	delete bool
	off    int // offset of the key in data; the value follows it
	klen   int
	vlen   int
}

// NewBatch returns an empty batch.
func NewBatch() *Batch { return &Batch{} }

// Put adds a record storing value under key in ks.
func (b *Batch) Put(ks Keyspace, key, value []byte) { b.add(ks, false, key, value) }

// Delete adds a record removing key from ks.
func (b *Batch) Delete(ks Keyspace, key []byte) { b.add(ks, true, key, nil) }

func (b *Batch) add(ks Keyspace, del bool, key, value []byte) {
	if err := validateKey(ks, key); err != nil {
		if b.err == nil {
			b.err = err
		}
		return
	}
	b.recs = append(b.recs, batchRecord{ks: ks, delete: del, off: len(b.data), klen: len(key), vlen: len(value)})
	b.data = append(b.data, key...)
	b.data = append(b.data, value...)
}

// Len returns the number of records in the batch.
func (b *Batch) Len() int { return len(b.recs) }

// Op is the batch's i-th operation: its keyspace, whether it deletes, and
// its key (for engines that watch what is written).
func (b *Batch) Op(i int) (ks Keyspace, del bool, key []byte) {
	ks, del, key, _ = b.record(i)
	return ks, del, key
}

// Keyspace returns the keyspace of the i-th record, 0 <= i < Len.
func (b *Batch) Keyspace(i int) Keyspace {
	ks, _, _, _ := b.record(i)
	return ks
}

// Reset empties the batch, and clears its error, keeping its memory.
func (b *Batch) Reset() {
	b.recs = b.recs[:0]
	b.data = b.data[:0]
	b.err = nil
}

// record returns the i-th record. key and value alias the batch's memory.
func (b *Batch) record(i int) (ks Keyspace, del bool, key, value []byte) {
	r := b.recs[i]
	kEnd := r.off + r.klen
	return r.ks, r.delete, b.data[r.off:kEnd:kEnd], b.data[kEnd : kEnd+r.vlen : kEnd+r.vlen]
}

// checkBatch returns the error that keeps b from being written.
func checkBatch(b *Batch) error {
	if b == nil {
		return fmt.Errorf("%w: nil batch", ErrInvalid)
	}
	return b.err
}

// Append adds o's records to b, after b's own; a batch error of o becomes
// b's unless b has one.
func (b *Batch) Append(o *Batch) {
	if o.err != nil && b.err == nil {
		b.err = o.err
	}
	base := len(b.data)
	for _, r := range o.recs {
		r.off += base
		b.recs = append(b.recs, r)
	}
	b.data = append(b.data, o.data...)
}
