package ring

import (
	"crypto/md5"
	"encoding/binary"
	"math/bits"
)

// KeyHash is a key's 128-bit position on the ring: the MD5 of the key.
type KeyHash [16]byte

// HashKey returns the MD5 of key.
func HashKey(key []byte) KeyHash { return md5.Sum(key) }

// PartitionOf returns the partition of h for a ring of q partitions (a power
// of two): the top log2(q) bits.
func PartitionOf(h KeyHash, q int) uint32 {
	b := bits.TrailingZeros(uint(q))
	if b == 0 {
		return 0
	}
	return uint32(binary.BigEndian.Uint64(h[:8]) >> (64 - b))
}

// SegmentOf returns the 16 bits of h that follow the partition bits: the
// key's segment within its partition, used by Merkle trees and storage
// ranges. It is uniform within a partition.
func SegmentOf(h KeyHash, q int) uint16 {
	b := bits.TrailingZeros(uint(q))
	return uint16(binary.BigEndian.Uint64(h[:8]) << b >> 48)
}
