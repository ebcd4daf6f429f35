package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/dynamokv/dynamo/version"
)

// Identity is the identity of a node's data directory: the node's name and
// the epoch chosen when the directory was first used. A wiped directory
// gets a new epoch.
type Identity struct {
	Name  string
	Epoch uint64
}

// identityKey is the KeyspaceMeta key of the encoded Identity.
var identityKey = []byte("identity")

// Identity encoding, format 1:
//
//	format (1 byte) | epoch (8 bytes, big endian) | name length (2 bytes, big endian) | name
const (
	identityFormat1 = 1
	identityHeader  = 1 + 8 + 2
	// maxNameLen keeps a vnode's actor ids (version.ActorID) within the
	// actor ids version accepts.
	maxNameLen = version.MaxNodeLen
)

// LoadIdentity returns the identity stored in e. On a fresh engine it
// stores Identity{name, newEpoch()} with a synced write and reports
// created. If the stored name differs from name it fails: a data directory
// belongs to one node. Call it once, at startup, before serving requests.
func LoadIdentity(e Engine, name string, newEpoch func() uint64) (id Identity, created bool, err error) {
	if err := validateName(name); err != nil {
		return Identity{}, false, err
	}
	if newEpoch == nil {
		return Identity{}, false, fmt.Errorf("%w: nil newEpoch", ErrInvalid)
	}
	b, err := e.Get(KeyspaceMeta, identityKey)
	switch {
	case err == nil:
		id, err := decodeIdentity(b)
		if err != nil {
			return Identity{}, false, err
		}
		if id.Name != name {
			return Identity{}, false, fmt.Errorf("storage: data directory belongs to node %q, not %q", id.Name, name)
		}
		return id, false, nil
	case !errors.Is(err, ErrNotFound):
		return Identity{}, false, fmt.Errorf("storage: load identity: %w", err)
	}
	id = Identity{Name: name, Epoch: newEpoch()}
	if id.Epoch == 0 {
		return Identity{}, false, fmt.Errorf("%w: new epoch is 0", ErrInvalid)
	}
	if err := Put(e, KeyspaceMeta, identityKey, encodeIdentity(id), WriteOptions{Sync: true}); err != nil {
		return Identity{}, false, fmt.Errorf("storage: store identity: %w", err)
	}
	return id, true, nil
}

func validateName(name string) error {
	if name == "" || len(name) > maxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("%w: node name %q must be 1..%d bytes of UTF-8", ErrInvalid, name, maxNameLen)
	}
	return nil
}

func encodeIdentity(id Identity) []byte {
	b := make([]byte, identityHeader, identityHeader+len(id.Name))
	b[0] = identityFormat1
	binary.BigEndian.PutUint64(b[1:], id.Epoch)
	binary.BigEndian.PutUint16(b[9:], uint16(len(id.Name)))
	return append(b, id.Name...)
}

func decodeIdentity(b []byte) (Identity, error) {
	if len(b) == 0 {
		return Identity{}, fmt.Errorf("%w: empty identity", ErrCorrupt)
	}
	if b[0] != identityFormat1 {
		return Identity{}, fmt.Errorf("%w: unknown identity format %d", ErrCorrupt, b[0])
	}
	if len(b) < identityHeader {
		return Identity{}, fmt.Errorf("%w: identity of %d bytes is shorter than %d", ErrCorrupt, len(b), identityHeader)
	}
	id := Identity{Epoch: binary.BigEndian.Uint64(b[1:])}
	n := int(binary.BigEndian.Uint16(b[9:]))
	if len(b) != identityHeader+n {
		return Identity{}, fmt.Errorf("%w: identity of %d bytes, want %d for a %d-byte name", ErrCorrupt, len(b), identityHeader+n, n)
	}
	id.Name = string(b[identityHeader:])
	if id.Epoch == 0 || validateName(id.Name) != nil {
		return Identity{}, fmt.Errorf("%w: identity %q epoch %d is not valid", ErrCorrupt, id.Name, id.Epoch)
	}
	return id, nil
}
