package hints

import (
	"encoding/binary"
	"fmt"
)

// maxOwnerLen is the longest owner name: its length is stored in one byte.
const maxOwnerLen = 255

func checkOwner(owner string) error {
	if owner == "" {
		return fmt.Errorf("%w: owner: empty", ErrInvalid)
	}
	if len(owner) > maxOwnerLen {
		return fmt.Errorf("%w: owner: %d bytes, the limit is %d", ErrInvalid, len(owner), maxOwnerLen)
	}
	return nil
}

func checkKey(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("%w: key: empty", ErrInvalid)
	}
	return nil
}

// ownerPrefix is the prefix every hint key of owner starts with.
func ownerPrefix(owner string) []byte {
	p := make([]byte, 0, 1+len(owner))
	p = append(p, byte(len(owner)))
	return append(p, owner...)
}

// hintKey is the KeyspaceHints key of the hint for (owner, partition, key):
// len(owner) | owner | partition (big endian) | key.
func hintKey(owner string, partition uint32, key []byte) []byte {
	k := make([]byte, 0, 1+len(owner)+4+len(key))
	k = append(k, byte(len(owner)))
	k = append(k, owner...)
	k = binary.BigEndian.AppendUint32(k, partition)
	return append(k, key...)
}

// parseHintKey splits a key made by hintKey. The returned key aliases k. A
// key that hintKey cannot have made fails with an error wrapping ErrCorrupt.
func parseHintKey(k []byte) (owner string, partition uint32, key []byte, err error) {
	if len(k) == 0 {
		return "", 0, nil, fmt.Errorf("%w: empty key", ErrCorrupt)
	}
	n := int(k[0])
	if n == 0 || len(k) < 1+n+4+1 {
		return "", 0, nil, fmt.Errorf("%w: key %x: too short for an owner of %d bytes, a partition and a key", ErrCorrupt, k, n)
	}
	return string(k[1 : 1+n]), binary.BigEndian.Uint32(k[1+n:]), k[1+n+4:], nil
}
