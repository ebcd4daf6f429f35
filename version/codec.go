package version

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/dynamokv/dynamo/messages"
	"google.golang.org/protobuf/proto"
)

// Format numbers of the encodings this build reads and writes.
const (
	// ContextFormat is a context with loose dots (a put's returned
	// context); a context that is a clock alone is written in
	// contextFormatClock, which every release reads.
	ContextFormat      = 2
	contextFormatClock = 1
	ObjectFormat       = 1
)

// Limits applied by the decoders, so a hostile or corrupted input cannot
// make a node allocate without bound.
const (
	// MaxActorLen is the longest actor id accepted, in bytes.
	MaxActorLen = 255
	// MaxClockEntries is the most clock entries a client write may produce
	// by the entries its context adds (Update refuses more); a key whose
	// clock grew past it by merges still takes writes that add nothing.
	MaxClockEntries = 1024
	// MaxContextEntries is the most clock entries a client's context may
	// carry (the decoders refuse more): the context of a read of a set
	// that merges grew past MaxClockEntries still decodes.
	MaxContextEntries = 4 * MaxClockEntries
	// MaxDecodeEntries bounds what the decoders accept. It is far above
	// MaxClockEntries so that whatever merges of valid sets produce always
	// decodes.
	MaxDecodeEntries = 1 << 16
)

// ToProto converts s to its wire and storage form.
func ToProto(s *Set) *messages.VersionSet {
	out := &messages.VersionSet{}
	for _, e := range s.clk() {
		out.Clock = append(out.Clock, &messages.ClockEntry{Actor: e.Actor, Counter: e.Counter, UpdatedMs: e.UpdatedMs})
	}
	for _, sib := range s.sibs() {
		out.Siblings = append(out.Siblings, &messages.Sibling{
			Dot:   &messages.Dot{Actor: sib.Dot.Actor, Counter: sib.Dot.Counter},
			Value: sib.Value, Tombstone: sib.Tombstone, TimestampNs: sib.Timestamp, ExpiresAtNs: sib.ExpiresAt,
		})
	}
	return out
}

// FromProto converts and validates a wire or stored set. Errors wrap
// ErrInvalid and say what is wrong.
func FromProto(p *messages.VersionSet) (*Set, error) {
	clock, err := clockFromProto(p.GetClock(), ErrInvalid)
	if err != nil {
		return nil, err
	}
	sibs := make([]Sibling, 0, len(p.GetSiblings()))
	for _, ps := range p.GetSiblings() {
		if ps.GetDot() == nil {
			return nil, fmt.Errorf("%w: sibling without a dot", ErrInvalid)
		}
		sibs = append(sibs, Sibling{
			Dot:   Dot{Actor: ps.GetDot().GetActor(), Counter: ps.GetDot().GetCounter()},
			Value: ps.GetValue(), Tombstone: ps.GetTombstone(), Timestamp: ps.GetTimestampNs(), ExpiresAt: ps.GetExpiresAtNs(),
		})
	}
	return New(clock, sibs)
}

func clockFromProto(entries []*messages.ClockEntry, kind error) (Clock, error) {
	if len(entries) > MaxDecodeEntries {
		return nil, fmt.Errorf("%w: %d clock entries, the limit is %d", kind, len(entries), MaxDecodeEntries)
	}
	c := make(Clock, 0, len(entries))
	for _, e := range entries {
		if len(e.GetActor()) > MaxActorLen {
			return nil, fmt.Errorf("%w: actor id of %d bytes, the limit is %d", kind, len(e.GetActor()), MaxActorLen)
		}
		c = append(c, Entry{Actor: e.GetActor(), Counter: e.GetCounter(), UpdatedMs: e.GetUpdatedMs()})
	}
	// Unsorted input is accepted; duplicates are not.
	slices.SortFunc(c, func(a, b Entry) int { return cmp.Compare(a.Actor, b.Actor) })
	if err := validateClock(c, kind); err != nil {
		return nil, err
	}
	return c, nil
}

// Marshal encodes s as a messages.StoredObject, the value of a key in a
// vnode's storage.
func Marshal(s *Set) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&messages.StoredObject{Format: ObjectFormat, Set: ToProto(s)})
	if err != nil {
		return nil, fmt.Errorf("version: marshal: %w", err)
	}
	return b, nil
}

// Unmarshal decodes and validates a stored object. Errors wrap ErrInvalid.
func Unmarshal(b []byte) (*Set, error) {
	var p messages.StoredObject
	if err := proto.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: stored object: %v", ErrInvalid, err)
	}
	if p.GetFormat() != ObjectFormat {
		return nil, fmt.Errorf("%w: stored object format %d is not known to this node (it reads format %d)", ErrInvalid, p.GetFormat(), ObjectFormat)
	}
	return FromProto(p.GetSet())
}

// Digest is a SHA-256 over a canonical encoding of s: clock entries (actor,
// counter) sorted by actor, then siblings sorted by dot (dot, flags,
// timestamp, expiry when there is one, value), every field length-prefixed.
// The flags are 1 for a tombstone and 2 for an expiry, so a set without
// expiries digests as it did before expiries existed. Wall-clock pruning
// metadata is left out. Equal sets have equal digests on every node.
func Digest(s *Set) [32]byte {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	num := func(x uint64) { h.Write(buf[:binary.PutUvarint(buf[:], x)]) }
	str := func(b []byte) { num(uint64(len(b))); h.Write(b) }
	num(uint64(len(s.clk())))
	for _, e := range s.clk() {
		str([]byte(e.Actor))
		num(e.Counter)
	}
	num(uint64(len(s.sibs())))
	for _, sib := range s.sibs() {
		str([]byte(sib.Dot.Actor))
		num(sib.Dot.Counter)
		var flags uint64
		if sib.Tombstone {
			flags |= 1
		}
		if sib.ExpiresAt != 0 {
			flags |= 2
		}
		num(flags)
		num(uint64(sib.Timestamp))
		if sib.ExpiresAt != 0 {
			num(uint64(sib.ExpiresAt))
		}
		str(sib.Value)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}
