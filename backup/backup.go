package backup

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
)

// Magic begins every export.
const Magic = "DYNAMO-EXPORT\x00"

// Format1 is the format this package writes and reads.
const Format1 = 1

// MaxRecord bounds one record's length (a key and its sets; a node keeps
// at most 16 MiB of sibling values per key).
const MaxRecord = 64 << 20

const (
	tagRecord = 'K'
	tagEnd    = 'E'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrFormat marks a file that is not a valid export.
var ErrFormat = errors.New("backup: not a valid export")

// FormatError is a problem at a byte offset of the file.
type FormatError struct {
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("backup: at byte %d: %s", e.Offset, e.Msg)
}

// Is makes errors.Is(err, ErrFormat) true.
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

// Header is what an export says of itself.
type Header struct {
	// Partitions is the Q of the cluster it was taken from.
	Partitions int
	// CreatedMs is when the export began (Unix ms).
	CreatedMs int64
}

// Writer writes an export.
type Writer struct {
	w     *bufio.Writer
	whole hash.Hash32 // CRC-32C of every byte written
	n     uint64
	off   int64
	err   error
	buf   []byte
}

// NewWriter writes h to w and returns a Writer for the records.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	bw := &Writer{w: bufio.NewWriterSize(w, 1<<20), whole: crc32.New(castagnoli)}
	b := append([]byte(Magic), Format1)
	b = binary.BigEndian.AppendUint32(b, uint32(h.Partitions))
	b = binary.BigEndian.AppendUint64(b, uint64(h.CreatedMs))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return bw, bw.write(b)
}

func (w *Writer) write(b []byte) error {
	if w.err != nil {
		return w.err
	}
	w.whole.Write(b)
	w.off += int64(len(b))
	_, w.err = w.w.Write(b)
	return w.err
}

// Bytes is how many bytes of the file were written (some may still be
// buffered until Close).
func (w *Writer) Bytes() int64 { return w.off }

// Write adds one key's version set.
func (w *Writer) Write(key []byte, set *version.Set) error {
	payload, err := proto.Marshal(&messages.KeySet{Key: key, Set: version.ToProto(set)})
	if err != nil {
		return err
	}
	if len(payload) > MaxRecord {
		return fmt.Errorf("backup: key %q: its sets take %d bytes, more than a record holds (%d)", key, len(payload), MaxRecord)
	}
	b := append(w.buf[:0], tagRecord)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	w.buf = b
	w.n++
	return w.write(b)
}

// Records is how many records were written.
func (w *Writer) Records() uint64 { return w.n }

// Close writes the end record and flushes; the file is valid only after
// it. It does not close the underlying writer.
func (w *Writer) Close() error {
	b := []byte{tagEnd}
	b = binary.BigEndian.AppendUint64(b, w.n)
	if err := w.write(b); err != nil {
		return err
	}
	if _, err := w.w.Write(binary.BigEndian.AppendUint32(nil, w.whole.Sum32())); err != nil {
		return err
	}
	return w.w.Flush()
}

// Reader reads an export, checking it as it goes.
type Reader struct {
	r     *bufio.Reader
	off   int64
	whole hash.Hash32
	n     uint64
	h     Header
	ended bool
}

// NewReader reads the header of an export from r.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{r: bufio.NewReaderSize(r, 1<<20), whole: crc32.New(castagnoli)}
	b := make([]byte, len(Magic)+1+4+8+4)
	if err := rd.full(b, "the header"); err != nil {
		return nil, err
	}
	if string(b[:len(Magic)]) != Magic {
		return nil, &FormatError{0, "not a dynamo export (no magic)"}
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return nil, &FormatError{0, "header checksum mismatch"}
	}
	if f := b[len(Magic)]; f != Format1 {
		return nil, &FormatError{int64(len(Magic)), fmt.Sprintf("format %d, this build reads %d", f, Format1)}
	}
	rd.h = Header{Partitions: int(binary.BigEndian.Uint32(b[len(Magic)+1:])), CreatedMs: int64(binary.BigEndian.Uint64(b[len(Magic)+5:]))}
	return rd, nil
}

// Header is the export's header.
func (r *Reader) Header() Header { return r.h }

// Offset is the byte offset the next read starts at.
func (r *Reader) Offset() int64 { return r.off }

func (r *Reader) full(b []byte, what string) error {
	n, err := io.ReadFull(r.r, b)
	r.whole.Write(b[:n])
	r.off += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return &FormatError{r.off, fmt.Sprintf("truncated in %s (the file ends early)", what)}
		}
		return err
	}
	return nil
}

// Next returns the next key and version set, and io.EOF after a valid end
// record; any problem is a *FormatError naming its offset.
func (r *Reader) Next() ([]byte, *version.Set, error) {
	if r.ended {
		return nil, nil, io.EOF
	}
	start := r.off
	tag := make([]byte, 1)
	if err := r.full(tag, "a record's tag"); err != nil {
		return nil, nil, err
	}
	switch tag[0] {
	case tagEnd:
		return nil, nil, r.end(start)
	case tagRecord:
	default:
		return nil, nil, &FormatError{start, fmt.Sprintf("unknown record tag %#x", tag[0])}
	}
	lb := make([]byte, 4)
	if err := r.full(lb, "a record's length"); err != nil {
		return nil, nil, err
	}
	n := binary.BigEndian.Uint32(lb)
	if n > MaxRecord {
		return nil, nil, &FormatError{start, fmt.Sprintf("record length %d exceeds %d", n, MaxRecord)}
	}
	payload := make([]byte, n+4)
	if err := r.full(payload, "a record"); err != nil {
		return nil, nil, err
	}
	rec := append(append([]byte{tagRecord}, lb...), payload[:n]...)
	if crc32.Checksum(rec, castagnoli) != binary.BigEndian.Uint32(payload[n:]) {
		return nil, nil, &FormatError{start, "record checksum mismatch"}
	}
	var ks messages.KeySet
	if err := proto.Unmarshal(payload[:n], &ks); err != nil {
		return nil, nil, &FormatError{start, fmt.Sprintf("record does not decode: %v", err)}
	}
	set, err := version.FromProto(ks.GetSet())
	if err != nil || len(ks.GetKey()) == 0 {
		return nil, nil, &FormatError{start, fmt.Sprintf("record's key or version set is invalid: %v", err)}
	}
	r.n++
	return ks.GetKey(), set, nil
}

// end checks the end record that starts at start.
func (r *Reader) end(start int64) error {
	cb := make([]byte, 8)
	if err := r.full(cb, "the end record"); err != nil {
		return err
	}
	want := r.whole.Sum32()
	sb := make([]byte, 4)
	n, err := io.ReadFull(r.r, sb)
	r.off += int64(n)
	if err != nil {
		return &FormatError{r.off, "truncated in the end record"}
	}
	if count := binary.BigEndian.Uint64(cb); count != r.n {
		return &FormatError{start, fmt.Sprintf("the end record counts %d records, the file holds %d", count, r.n)}
	}
	if binary.BigEndian.Uint32(sb) != want {
		return &FormatError{start, "file checksum mismatch"}
	}
	if _, err := r.r.ReadByte(); err != io.EOF {
		return &FormatError{r.off, "bytes after the end record"}
	}
	r.ended = true
	return io.EOF
}

// Verify reads a whole export and returns its header and record count, or
// the first problem.
func Verify(r io.Reader) (Header, uint64, error) {
	rd, err := NewReader(r)
	if err != nil {
		return Header{}, 0, err
	}
	for {
		if _, _, err := rd.Next(); err == io.EOF {
			return rd.h, rd.n, nil
		} else if err != nil {
			return rd.h, rd.n, err
		}
	}
}
