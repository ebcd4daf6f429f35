package crdt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Errors. Decode errors wrap one of the first three and say what is wrong
// and where.
var (
	// ErrMalformed: the bytes are not a canonical encoding of the type.
	ErrMalformed = errors.New("crdt: malformed encoding")
	// ErrUnknownFormat: the header names a format this version does not
	// read (written by a newer version, or another type).
	ErrUnknownFormat = errors.New("crdt: unknown encoding format")
	// ErrTooLarge: the input is above MaxEncodedSize.
	ErrTooLarge = errors.New("crdt: encoding too large")
	// ErrInvalid: a bad argument (an empty or too long actor id, a too long
	// element).
	ErrInvalid = errors.New("crdt: invalid argument")
	// ErrOverflow: a counter would pass 2^64-1, or a value does not fit
	// an int64.
	ErrOverflow = errors.New("crdt: overflow")
)

// Limits.
const (
	// MaxEncodedSize bounds what Decode reads: 16 MiB, the store's limit on
	// all the sibling values of one key, so whatever a merge of stored
	// values produces decodes again.
	MaxEncodedSize = 16 << 20
	// MaxActorLen bounds an actor id, in bytes.
	MaxActorLen = 255
	// MaxElementLen bounds an ORSet element, in bytes.
	MaxElementLen = 4096
)

// Type bytes and the format of this version.
const (
	typeORSet   = 'S'
	typeCounter = 'C'
	format1     = 1
)

func typeName(t byte) string {
	switch t {
	case typeORSet:
		return "an OR-Set"
	case typeCounter:
		return "a counter"
	}
	return fmt.Sprintf("type %#02x", t)
}

func checkActor(actor string) error {
	if actor == "" {
		return fmt.Errorf("%w: actor id is empty", ErrInvalid)
	}
	if len(actor) > MaxActorLen {
		return fmt.Errorf("%w: actor id is %d bytes, the limit is %d", ErrInvalid, len(actor), MaxActorLen)
	}
	return nil
}

// encoder appends canonical fields.
type encoder struct{ b []byte }

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

func (e *encoder) bytes(p []byte) {
	e.uvarint(uint64(len(p)))
	e.b = append(e.b, p...)
}

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// unreadable writes the list of blobs kept verbatim (sorted, unique).
func (e *encoder) unreadable(blobs [][]byte) {
	e.uvarint(uint64(len(blobs)))
	for _, b := range blobs {
		e.bytes(b)
	}
}

// decoder reads canonical fields; the first error sticks, so a caller can
// read a whole record and check once.
type decoder struct {
	b   []byte
	off int
	err error
}

// header checks size, type and format and returns a decoder past them.
// what is the type expected.
func newDecoder(b []byte, want byte) (*decoder, error) {
	if len(b) > MaxEncodedSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(b), MaxEncodedSize)
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the 2-byte header", ErrMalformed, len(b))
	}
	if b[0] != want {
		if b[0] == typeORSet || b[0] == typeCounter {
			return nil, fmt.Errorf("%w: %s, not %s", ErrMalformed, typeName(b[0]), typeName(want))
		}
		return nil, fmt.Errorf("%w: first byte %#02x is not %s's type byte %q", ErrUnknownFormat, b[0], typeName(want), want)
	}
	if b[1] != format1 {
		return nil, fmt.Errorf("%w: %s in format %d (this version reads format %d)", ErrUnknownFormat, typeName(want), b[1], format1)
	}
	return &decoder{b: b, off: 2}, nil
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", ErrMalformed, d.off, fmt.Sprintf(format, args...))
	}
}

// uvarint reads a minimal uvarint.
func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.fail("%s: truncated", what)
		return 0
	case n < 0:
		d.fail("%s: varint overflows 64 bits", what)
		return 0
	case n > 1 && d.b[d.off+n-1] == 0:
		// A trailing zero byte adds nothing: the value has a shorter
		// encoding, and canonical input has exactly one.
		d.fail("%s: varint is not minimal", what)
		return 0
	}
	d.off += n
	return v
}

// count reads a number of records, each at least min bytes long, so a
// forged count cannot make the decoder allocate more than the input.
func (d *decoder) count(what string, minLen int) int {
	v := d.uvarint(what)
	if d.err != nil {
		return 0
	}
	if rest := uint64(len(d.b) - d.off); v > rest/uint64(minLen) {
		d.fail("%s: %d records cannot fit in the %d bytes left", what, v, rest)
		return 0
	}
	return int(v)
}

// field reads a length-prefixed byte string of at most limit bytes.
func (d *decoder) field(what string, limit int) []byte {
	n := d.uvarint(what + " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(limit) {
		d.fail("%s is %d bytes, the limit is %d", what, n, limit)
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail("%s: %d bytes announced, %d left", what, n, len(d.b)-d.off)
		return nil
	}
	p := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return p
}

// unreadable reads the list of blobs kept verbatim.
func (d *decoder) unreadable() [][]byte {
	n := d.count("unreadable count", 2)
	if d.err != nil || n == 0 {
		return nil
	}
	out := make([][]byte, 0, n)
	for i := range n {
		p := d.field("unreadable value", MaxEncodedSize)
		if d.err != nil {
			return nil
		}
		if len(p) == 0 {
			// Empty input decodes, so it is never kept as unreadable.
			d.fail("unreadable value %d is empty", i)
			return nil
		}
		if i > 0 && bytes.Compare(out[i-1], p) >= 0 {
			d.fail("unreadable values are not in ascending order or repeat")
			return nil
		}
		out = append(out, bytes.Clone(p))
	}
	return out
}

// end checks that the whole input was read.
func (d *decoder) end() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d bytes after the end", len(d.b)-d.off)
	}
	return d.err
}

// unionBlobs merges two sorted, unique lists of blobs.
func unionBlobs(a, b [][]byte) [][]byte {
	if len(b) == 0 {
		return a
	}
	out := make([][]byte, 0, len(a)+len(b))
	out = append(out, a...)
	for _, x := range b {
		i, found := slices.BinarySearchFunc(out, x, bytes.Compare)
		if !found {
			out = slices.Insert(out, i, bytes.Clone(x))
		}
	}
	return out
}

// addBlob adds one blob to a sorted, unique list.
func addBlob(list [][]byte, p []byte) [][]byte {
	return unionBlobs(list, [][]byte{p})
}

func cloneBlobs(list [][]byte) [][]byte {
	if list == nil {
		return nil
	}
	out := make([][]byte, len(list))
	for i, b := range list {
		out[i] = bytes.Clone(b)
	}
	return out
}

func equalBlobs(a, b [][]byte) bool {
	return slices.EqualFunc(a, b, bytes.Equal)
}
