package cluster

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"

	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/ring"
)

// Errors.
var (
	// ErrBadTags marks serf tags that cannot be decoded.
	ErrBadTags = errors.New("cluster: bad tags")
	// ErrIncompatible marks a node that cannot join this cluster.
	ErrIncompatible = errors.New("cluster: incompatible node")
)

// MaxTagBytes is serf's limit on a node's encoded tags.
const MaxTagBytes = 512

// Tag names, kept short: they travel in every gossip message.
const (
	tagAddr     = "addr"
	tagWeight   = "w"
	tagZone     = "zone"
	tagQ        = "q"
	tagN        = "n"
	tagProtocol = "pv"
	tagHash     = "hash"
	tagLeaving  = "leaving"
)

// HashName names the key hash every node must use.
const HashName = "md5"

// Tags is what a node publishes about itself.
type Tags struct {
	// Addr is the node's canonical protoactor address, host:port. Peers send
	// to exactly this string (protoactor compares addresses as strings).
	Addr string
	// Weight is the node's capacity weight (1..ring.MaxWeight).
	Weight int
	// Zone is the node's failure domain; may be empty.
	Zone string
	// Partitions is the cluster's Q.
	Partitions int
	// N is the cluster's replication factor (1..quorum.MaxN); every node
	// must agree on it, or coordinators would disagree on the primaries.
	N int
	// Protocol is messages.ProtocolVersion of the node's build.
	Protocol uint32
	// Leaving is set while the node hands off its partitions before leaving.
	Leaving bool
}

// Encode returns the serf tag map, or an error when a field is out of range
// or the tags exceed MaxTagBytes.
func (t Tags) Encode() (map[string]string, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	m := map[string]string{
		tagAddr:     t.Addr,
		tagWeight:   strconv.Itoa(t.Weight),
		tagQ:        strconv.Itoa(t.Partitions),
		tagN:        strconv.Itoa(t.N),
		tagProtocol: strconv.FormatUint(uint64(t.Protocol), 10),
		tagHash:     HashName,
	}
	if t.Zone != "" {
		m[tagZone] = t.Zone
	}
	if t.Leaving {
		m[tagLeaving] = "1"
	}
	if n := EncodedSize(m); n > MaxTagBytes {
		return nil, fmt.Errorf("%w: tags encode to %d bytes, serf allows %d (shorten zone or addr)", ErrBadTags, n, MaxTagBytes)
	}
	return m, nil
}

func (t Tags) validate() error {
	host, port, err := net.SplitHostPort(t.Addr)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("%w: addr must be host:port, got %q", ErrBadTags, t.Addr)
	}
	if t.Weight < 1 || t.Weight > ring.MaxWeight {
		return fmt.Errorf("%w: weight must be from 1 to %d, got %d", ErrBadTags, ring.MaxWeight, t.Weight)
	}
	if err := ring.ValidatePartitions(t.Partitions); err != nil {
		return fmt.Errorf("%w: %v", ErrBadTags, err)
	}
	if t.N < 1 || t.N > quorum.MaxN {
		return fmt.Errorf("%w: n must be from 1 to %d, got %d", ErrBadTags, quorum.MaxN, t.N)
	}
	if t.Protocol == 0 {
		return fmt.Errorf("%w: protocol version must be set", ErrBadTags)
	}
	return nil
}

// DecodeTags parses a node's serf tags. Errors name the tag at fault.
func DecodeTags(m map[string]string) (Tags, error) {
	var t Tags
	var err error
	t.Addr = m[tagAddr]
	t.Zone = m[tagZone]
	t.Leaving = m[tagLeaving] == "1"
	if t.Weight, err = atoiTag(m, tagWeight); err != nil {
		return Tags{}, err
	}
	if t.Partitions, err = atoiTag(m, tagQ); err != nil {
		return Tags{}, err
	}
	if t.N, err = atoiTag(m, tagN); err != nil {
		return Tags{}, err
	}
	pv, err := atoiTag(m, tagProtocol)
	if err != nil {
		return Tags{}, err
	}
	t.Protocol = uint32(pv)
	if h := m[tagHash]; h != HashName {
		return Tags{}, fmt.Errorf("%w: tag %q is %q, this build hashes keys with %q", ErrBadTags, tagHash, h, HashName)
	}
	if err := t.validate(); err != nil {
		return Tags{}, err
	}
	return t, nil
}

func atoiTag(m map[string]string, name string) (int, error) {
	v, ok := m[name]
	if !ok {
		return 0, fmt.Errorf("%w: tag %q is missing", ErrBadTags, name)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 1<<20 {
		return 0, fmt.Errorf("%w: tag %q must be a small non-negative integer, got %q", ErrBadTags, name, v)
	}
	return n, nil
}

// Compatible checks that a node with tags remote can be in the same cluster
// as this node (local): same Q, same N and same protocol version.
func Compatible(local, remote Tags, remoteName string) error {
	if local.Partitions != remote.Partitions {
		return fmt.Errorf("%w: node %q has %d partitions, this node %d (Q is fixed when a cluster is created)", ErrIncompatible, remoteName, remote.Partitions, local.Partitions)
	}
	if local.N != remote.N {
		return fmt.Errorf("%w: node %q replicates %d times (n), this node %d", ErrIncompatible, remoteName, remote.N, local.N)
	}
	if local.Protocol != remote.Protocol {
		return fmt.Errorf("%w: node %q speaks protocol %d, this node speaks %d", ErrIncompatible, remoteName, remote.Protocol, local.Protocol)
	}
	return nil
}

// EncodedSize is the size of m as serf encodes it and checks against
// MaxTagBytes: a magic byte, then a msgpack map of strings in the old
// msgpack spec serf's codec writes (strings of 32 bytes and more take a
// 3-byte header; there is no 2-byte str8 form).
func EncodedSize(m map[string]string) int {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := 1 + msgpackHeader(len(m), 15)
	for _, k := range keys {
		n += msgpackHeader(len(k), 31) + len(k) + msgpackHeader(len(m[k]), 31) + len(m[k])
	}
	return n
}

// msgpackHeader is the header size of a map of n entries or a string of n
// bytes: the fix form up to fix, then 16-bit, then 32-bit lengths.
func msgpackHeader(n, fix int) int {
	switch {
	case n <= fix:
		return 1
	case n <= 0xffff:
		return 3
	}
	return 5
}
