package merkle

import "fmt"

// SegmentBits is the width of the caller's segment space: segments are
// 0..65535 and only the low 16 bits of a segment argument are used.
const SegmentBits = 16

// Limits enforced by Config.Validate.
const (
	MinFanoutBits = 1
	MaxFanoutBits = 8
	MinDepth      = 1
	MaxDepth      = 6
	MaxLeaves     = 1 << 20
)

// Config is the shape of a tree. Both replicas of an exchange must use the
// same Config.
type Config struct {
	// Depth is the number of levels below the root (level 0 is the root,
	// level Depth holds the leaves). 1..6.
	Depth int
	// FanoutBits is log2 of the number of children per inner node. 1..8.
	FanoutBits int
}

// DefaultConfig returns FanoutBits 4, Depth 3: fanout 16 and 4096 leaves.
func DefaultConfig() Config { return Config{Depth: 3, FanoutBits: 4} }

// Validate reports whether c is usable, naming the offending field and its
// limits.
func (c Config) Validate() error {
	if c.FanoutBits < MinFanoutBits || c.FanoutBits > MaxFanoutBits {
		return fmt.Errorf("merkle: Config.FanoutBits = %d, want %d..%d", c.FanoutBits, MinFanoutBits, MaxFanoutBits)
	}
	if c.Depth < MinDepth || c.Depth > MaxDepth {
		return fmt.Errorf("merkle: Config.Depth = %d, want %d..%d", c.Depth, MinDepth, MaxDepth)
	}
	if bits := c.Depth * c.FanoutBits; bits > SegmentBits {
		return fmt.Errorf("merkle: Config.Depth*Config.FanoutBits = %d*%d = %d, want <= %d (segments are %d-bit)",
			c.Depth, c.FanoutBits, bits, SegmentBits, SegmentBits)
	}
	if c.Leaves() > MaxLeaves {
		// Unreachable while Depth*FanoutBits <= 16; kept as the documented limit.
		return fmt.Errorf("merkle: Config has %d leaves, want <= %d", c.Leaves(), MaxLeaves)
	}
	return nil
}

// Fanout is the number of children per inner node, 1<<FanoutBits.
func (c Config) Fanout() int { return 1 << c.FanoutBits }

// Leaves is the number of leaves, Fanout^Depth.
func (c Config) Leaves() int { return 1 << (c.Depth * c.FanoutBits) }

// width is the number of nodes at level (0 = root, Depth = leaves).
func (c Config) width(level int) int { return 1 << (level * c.FanoutBits) }

// shift is the number of low segment bits dropped to get a leaf index.
func (c Config) shift() int { return SegmentBits - c.Depth*c.FanoutBits }

// Leaf returns the leaf index holding segment (its top Depth*FanoutBits bits
// of 16). c must be valid.
func (c Config) Leaf(segment uint32) uint32 {
	return (segment & (1<<SegmentBits - 1)) >> c.shift()
}

// LeafRange returns the inclusive segment range covered by leaf. c must be
// valid and leaf < c.Leaves().
func (c Config) LeafRange(leaf uint32) SegmentRange {
	s := c.shift()
	return SegmentRange{First: leaf << s, Last: (leaf+1)<<s - 1}
}

// SegmentRange is an inclusive range of the 16-bit segment space.
type SegmentRange struct {
	First, Last uint32
}

// Contains reports whether segment (low 16 bits) lies in r.
func (r SegmentRange) Contains(segment uint32) bool {
	segment &= 1<<SegmentBits - 1
	return r.First <= segment && segment <= r.Last
}
