package merkle

import (
	"bytes"
	"fmt"
)

// KeyDigest is one key and the version digest stored for it.
type KeyDigest struct {
	Key, Digest []byte
}

// DiffKeys compares the keys of one differing segment range on both sides.
// Both inputs must be sorted by key, strictly ascending (bytes.Compare); an
// unsorted or duplicated key returns an error. It returns the keys present
// only locally, only remotely, and present on both sides with different
// digests, each ascending. Returned keys alias the inputs.
func DiffKeys(local, remote []KeyDigest) (onlyLocal, onlyRemote, differ [][]byte, err error) {
	if err := checkSorted("local", local); err != nil {
		return nil, nil, nil, err
	}
	if err := checkSorted("remote", remote); err != nil {
		return nil, nil, nil, err
	}
	i, j := 0, 0
	for i < len(local) && j < len(remote) {
		switch c := bytes.Compare(local[i].Key, remote[j].Key); {
		case c < 0:
			onlyLocal = append(onlyLocal, local[i].Key)
			i++
		case c > 0:
			onlyRemote = append(onlyRemote, remote[j].Key)
			j++
		default:
			if !bytes.Equal(local[i].Digest, remote[j].Digest) {
				differ = append(differ, local[i].Key)
			}
			i++
			j++
		}
	}
	for ; i < len(local); i++ {
		onlyLocal = append(onlyLocal, local[i].Key)
	}
	for ; j < len(remote); j++ {
		onlyRemote = append(onlyRemote, remote[j].Key)
	}
	return onlyLocal, onlyRemote, differ, nil
}

func checkSorted(side string, kds []KeyDigest) error {
	for i := 1; i < len(kds); i++ {
		if bytes.Compare(kds[i-1].Key, kds[i].Key) >= 0 {
			return fmt.Errorf("merkle: DiffKeys: %s keys not strictly ascending at position %d (%q then %q)",
				side, i, kds[i-1].Key, kds[i].Key)
		}
	}
	return nil
}
