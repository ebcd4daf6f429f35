package status

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/dynamokv/dynamo/version"
)

// Inspection is GET /inspect?key=: a key's replicas as each of its primary
// owners stores it, and whether they agree.
type Inspection struct {
	// Key is the key as text when it is UTF-8, else empty; KeyBase64 is
	// always the key.
	Key       string `json:"key"`
	KeyBase64 string `json:"key_base64"`
	Partition uint32 `json:"partition"`
	// Agree: every owner answered and holds the same version (the same
	// digest), or none holds the key.
	Agree    bool          `json:"agree"`
	Replicas []ReplicaView `json:"replicas"`
}

// ReplicaView is one owner's copy of the key.
type ReplicaView struct {
	Node  string `json:"node"`
	State string `json:"state"`
	// Error is why the owner did not answer, or answered an error
	// (a corrupt object, say); the rest is then empty.
	Error string `json:"error,omitempty"`
	Found bool   `json:"found"`
	// Digest is the first 8 bytes of the version's digest, hex (what
	// anti-entropy compares).
	Digest   string        `json:"digest,omitempty"`
	Clock    []ClockView   `json:"clock,omitempty"`
	Siblings []SiblingView `json:"siblings,omitempty"`
}

// ClockView is one clock entry.
type ClockView struct {
	Actor   string `json:"actor"`
	Counter uint64 `json:"counter"`
}

// SiblingView is one sibling: its dot (actor:counter), value (base64, and
// as text when it is short UTF-8), size, whether it is a delete's
// tombstone, and its write's time and expiry (RFC 3339; "" for none).
type SiblingView struct {
	Dot       string `json:"dot"`
	Value     string `json:"value"`
	Text      string `json:"text,omitempty"`
	Bytes     int    `json:"bytes"`
	Tombstone bool   `json:"tombstone"`
	Written   string `json:"written"`
	Expires   string `json:"expires,omitempty"`
	// Live: neither a tombstone nor expired when inspected.
	Live bool `json:"live"`
}

// ReplicaRead is what one owner answered a replica read.
type ReplicaRead struct {
	Node, State string
	Err         error
	Found       bool
	Set         *version.Set
}

// textMax is the longest value shown as text too.
const textMax = 200

// Inspect builds the inspection of key in partition from its owners'
// answers, at nowNs (Unix ns) for what is live.
func Inspect(key []byte, partition uint32, reads []ReplicaRead, nowNs int64) Inspection {
	in := Inspection{KeyBase64: base64.StdEncoding.EncodeToString(key), Partition: partition, Agree: true, Replicas: []ReplicaView{}}
	if utf8.Valid(key) {
		in.Key = string(key)
	}
	var first string
	for i, r := range reads {
		v := ReplicaView{Node: r.Node, State: r.State, Found: r.Found && r.Set != nil}
		digest := "absent"
		switch {
		case r.Err != nil:
			v.Error, v.Found, digest = r.Err.Error(), false, "error"
			in.Agree = false
		case v.Found:
			d := version.Digest(r.Set)
			digest = hex.EncodeToString(d[:8])
			v.Digest = digest
			for _, e := range r.Set.Clock() {
				v.Clock = append(v.Clock, ClockView{Actor: e.Actor, Counter: e.Counter})
			}
			for _, s := range r.Set.Siblings() {
				sv := SiblingView{Dot: fmt.Sprintf("%s:%d", s.Dot.Actor, s.Dot.Counter), Value: base64.StdEncoding.EncodeToString(s.Value),
					Bytes: len(s.Value), Tombstone: s.Tombstone, Written: TimeText(s.Timestamp), Expires: TimeText(s.ExpiresAt), Live: !s.Dead(nowNs)}
				if len(s.Value) <= textMax && utf8.Valid(s.Value) {
					sv.Text = string(s.Value)
				}
				v.Siblings = append(v.Siblings, sv)
			}
		}
		if i == 0 {
			first = digest
		} else if digest != first {
			in.Agree = false
		}
		in.Replicas = append(in.Replicas, v)
	}
	return in
}

// TimeText is how the status page, the HTTP API and the CLI show a time
// such as an expiry: RFC 3339 in UTC with milliseconds; "" for 0 (none).
func TimeText(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
