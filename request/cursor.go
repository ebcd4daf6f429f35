package request

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
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

// Page is one replica's answer to a listing of a partition from a cursor
// (ListKeysReply): its keys in storage order, the last key it read, and
// whether it read the partition to its end.
type Page struct {
	Keys [][]byte
	// Sets, when set, are the keys' version sets (an export), parallel
	// to Keys.
	Sets []*version.Set
	Next []byte
	Done bool
}

// MergePages merges the pages several replicas of one partition gave from
// the same cursor, so that a replica missing keys (a new owner before its
// handoff, a wiped node before anti-entropy refilled it) does not hide
// them: the union of their keys, each once, in storage order, up to the
// earliest position at which a replica stopped short of the end (past it,
// that replica has not been read), and at most limit keys. after is where
// the next page starts; done reports that every replica reached the end
// and every key was taken. q is the ring's Q (storage order is by
// segment, then key). With Sets, each key's sets from the replicas that
// hold it are merged (version.Sync, as anti-entropy merges them) into
// sets, parallel to keys.
func MergePages(q, limit int, pages []Page) (keys [][]byte, sets []*version.Set, after []byte, done bool) {
	less := func(a, b []byte) int {
		sa, sb := ring.SegmentOf(ring.HashKey(a), q), ring.SegmentOf(ring.HashKey(b), q)
		if sa != sb {
			return cmp.Compare(sa, sb)
		}
		return bytes.Compare(a, b)
	}
	var bound []byte // the earliest position a replica stopped at
	for _, p := range pages {
		if !p.Done && p.Next != nil && (bound == nil || less(p.Next, bound) < 0) {
			bound = p.Next
		}
	}
	merged := map[string]*version.Set{}
	withSets := false
	for _, p := range pages {
		for i, k := range p.Keys {
			if bound != nil && less(k, bound) > 0 {
				continue
			}
			set, seen := merged[string(k)]
			if !seen {
				keys = append(keys, k)
			}
			if i < len(p.Sets) {
				withSets = true
				merged[string(k)] = version.Sync(set, p.Sets[i])
			} else if !seen {
				merged[string(k)] = nil
			}
		}
	}
	slices.SortFunc(keys, less)
	if len(keys) > limit {
		keys = keys[:limit]
		after, done = keys[limit-1], false
	} else {
		after, done = bound, bound == nil
	}
	if withSets {
		sets = make([]*version.Set, len(keys))
		for i, k := range keys {
			sets[i] = merged[string(k)]
		}
	}
	return keys, sets, after, done
}

// ItemsPage is the Page of a vnode's listing or export items.
func ItemsPage(items []*messages.KeySet, next []byte, done bool) (Page, error) {
	p := Page{Next: next, Done: done}
	for _, it := range items {
		set, err := version.FromProto(it.GetSet())
		if err != nil {
			return Page{}, fmt.Errorf("key %q: %w", it.GetKey(), err)
		}
		p.Keys, p.Sets = append(p.Keys, it.GetKey()), append(p.Sets, set)
	}
	return p, nil
}

// Holding keeps the keys whose merged set has a live sibling at nowNs
// (Unix ns; neither deleted nor expired): a key one replica still holds
// but whose delete another has is not listed.
func Holding(keys [][]byte, sets []*version.Set, nowNs int64) [][]byte {
	var out [][]byte
	for i, k := range keys {
		if i < len(sets) && sets[i] != nil {
			if _, live := sets[i].Live(version.ModeSiblings, nowNs); !live {
				continue
			}
		}
		out = append(out, k)
	}
	return out
}
