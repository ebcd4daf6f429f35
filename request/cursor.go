package request

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadCursor marks a listing cursor that does not decode.
var ErrBadCursor = errors.New("request: bad listing cursor")

// A listing cursor is where a listing of keys resumes: the partition, and
// the last key read in it (none: from the partition's start), as
// unpadded base64url of the partition (4 bytes, big endian) then the key.
// The client and the HTTP API share it, so a cursor from one resumes in
// the other.

// EncodeCursor is the cursor of partition p after key after (nil: its
// start).
func EncodeCursor(p uint32, after []byte) string {
	return base64.RawURLEncoding.EncodeToString(append(binary.BigEndian.AppendUint32(nil, p), after...))
}

// DecodeCursor reads a cursor; "" is the start of the listing. The
// partition is not checked against the ring's.
func DecodeCursor(s string) (p uint32, after []byte, err error) {
	if s == "" {
		return 0, nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 4 {
		return 0, nil, fmt.Errorf("%w: %q", ErrBadCursor, s)
	}
	if len(b) > 4 {
		after = b[4:]
	}
	return binary.BigEndian.Uint32(b), after, nil
}
