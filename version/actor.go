package version

import (
	"strconv"
	"strings"
)

// Actor ids of vnode incarnations: the node's name, "@", and 16 lower-case
// hex digits of a random number the vnode draws each time it opens (and
// whenever it may have lost a version it coordinated: vnode.Store.Actor).
const (
	// ActorIDDigits is the length of an actor id's random part.
	ActorIDDigits = 16
	// MaxNodeLen is the longest node name whose actor ids fit MaxActorLen.
	MaxNodeLen = MaxActorLen - 1 - ActorIDDigits
)

// ActorID is the actor id of node's vnode incarnation numbered r.
func ActorID(node string, r uint64) string {
	id := strconv.FormatUint(r, 16)
	return node + "@" + strings.Repeat("0", ActorIDDigits-len(id)) + id
}

// NodeOf returns the node name of an actor id made by ActorID, and false
// for any other shape.
func NodeOf(actor string) (string, bool) {
	i := strings.LastIndexByte(actor, '@')
	if i < 1 || len(actor)-i-1 != ActorIDDigits {
		return "", false
	}
	for _, c := range actor[i+1:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return actor[:i], true
}
