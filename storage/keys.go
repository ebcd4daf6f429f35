package storage

import (
	"encoding/binary"
	"fmt"
)

// objectKeyPrefixLen is the length of the partition and segment fields that
// lead every object key.
const objectKeyPrefixLen = 4 + 2

// ObjectKey returns the KeyspaceData key of an object: the partition
// (4 bytes, big endian), the segment (2 bytes, big endian, 16 bits of the
// key's hash chosen by the caller), then the key itself.
func ObjectKey(partition uint32, segment uint16, key []byte) []byte {
	k := make([]byte, objectKeyPrefixLen+len(key))
	binary.BigEndian.PutUint32(k, partition)
	binary.BigEndian.PutUint16(k[4:], segment)
	copy(k[objectKeyPrefixLen:], key)
	return k
}

// ParseObjectKey splits a key made by ObjectKey. The returned key aliases k.
// Input shorter than the 6-byte prefix fails with an error wrapping
// ErrInvalid.
func ParseObjectKey(k []byte) (partition uint32, segment uint16, key []byte, err error) {
	if len(k) < objectKeyPrefixLen {
		return 0, 0, nil, fmt.Errorf("%w: object key of %d bytes is shorter than %d", ErrInvalid, len(k), objectKeyPrefixLen)
	}
	return binary.BigEndian.Uint32(k), binary.BigEndian.Uint16(k[4:]), k[objectKeyPrefixLen:], nil
}

// PartitionRange returns the range of all objects of a partition.
func PartitionRange(partition uint32) Range {
	return PrefixRange(binary.BigEndian.AppendUint32(nil, partition))
}

// SegmentRange returns the range of the objects of one partition whose
// segment lies in first..last, both inclusive. It is empty if first > last.
func SegmentRange(partition uint32, first, last uint16) Range {
	start := ObjectKey(partition, first, nil)
	if first > last {
		return Range{Start: start, Limit: start}
	}
	return Range{Start: start, Limit: PrefixRange(ObjectKey(partition, last, nil)).Limit}
}

// PrefixRange returns the range of all keys starting with prefix. Its Limit
// is the shortest key greater than every such key, or nil (the end of the
// keyspace) if prefix is empty or all 0xff bytes.
func PrefixRange(prefix []byte) Range {
	r := Range{Start: append([]byte{}, prefix...)}
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xff {
			r.Limit = append([]byte{}, prefix[:i+1]...)
			r.Limit[i]++
			break
		}
	}
	return r
}
