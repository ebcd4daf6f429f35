package client

import (
	"time"

	"github.com/dynamokv/dynamo/messages"
)

// Option adjusts one call.
type Option func(*options)

type options struct {
	r, w     int
	timeout  time.Duration
	lww      bool
	ifAbsent bool
	ttl      *time.Duration
	acks     *Acks
}

// Acks is how a successful Put was acknowledged: by Acked replicas when
// W was met, Hinted of them fallbacks standing in for a down primary
// (sloppy quorum). A write acked by W primaries (Hinted 0) is seen by
// every later read at R with R+W > N while the primaries hold their data.
type Acks struct {
	Acked, Hinted int
}

// ReportAcks makes a Put or PutVia fill *a when it succeeds.
func ReportAcks(a *Acks) Option { return func(o *options) { o.acks = a } }

// report fills the caller's Acks from a successful put's reply.
func (o options) report(r *messages.PutReply) {
	if o.acks != nil {
		*o.acks = Acks{Acked: int(r.GetAcked()), Hinted: int(r.GetHinted())}
	}
}

// R sets the read quorum of a Get (and of the read of an Update): how many
// replicas must answer. 0 means the cluster's default; above the cluster's
// N is refused before sending.
func R(n int) Option { return func(o *options) { o.r = n } }

// W sets the write quorum of a Put or Delete (and of the write of an
// Update). 0 means the cluster's default; above N is refused before sending.
func W(n int) Option { return func(o *options) { o.w = n } }

// Timeout sets the request deadline sent to the node (0: the client's
// Config.Timeout). The call itself is also bounded by its context.
func Timeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// IfAbsent makes a Put write only if the key holds no value (it was never
// written, or its last write was a delete); otherwise the Put fails with
// an error matching ErrExists and writes nothing. Whatever node receives
// it, an IfAbsent put is coordinated by the key's first up primary, which
// checks and writes in one step: of concurrent IfAbsent puts, exactly one
// succeeds while the nodes agree on that primary. It is not a lock: a
// value another replica holds but that primary does not yet (written
// while it was down, before hints or anti-entropy brought it) is not
// seen, and during a partition or a failover two nodes can each take
// themselves for the first up primary and both succeed, which leaves
// siblings, as any concurrent writes do. No acknowledged write is lost
// either way.
func IfAbsent() Option { return func(o *options) { o.ifAbsent = true } }

// TTL gives a Put's value a time to live: it expires d after the write, by
// the clock of the node that coordinates it, and from then on reads as
// absent on every path, as if deleted; its space is reclaimed later, when
// the cluster reaps it (docs/client.md, "Expiry"). TTL(0) never expires,
// overriding the nodes' default time to live (--default-ttl); without TTL
// a Put takes that default. d is at least 1 ms and at most 100 years
// (request.MaxTTL); other values are refused before sending. A sibling
// written without a time to live survives its expired siblings.
func TTL(d time.Duration) Option { return func(o *options) { o.ttl = &d } }

// ttlMs is the wire's ttl_ms: nil leaves the node's default.
func (o options) ttlMs() *uint64 {
	if o.ttl == nil {
		return nil
	}
	ms := uint64(*o.ttl / time.Millisecond)
	return &ms
}

// LWW asks for last-write-wins: a Put replaces whatever the key holds and a
// Get returns one value, the one written last by coordinator wall clock.
// Concurrent writes are lost.
func LWW() Option { return func(o *options) { o.lww = true } }

func (o options) mode() messages.ConflictMode {
	if o.lww {
		return messages.ConflictMode_CONFLICT_MODE_LWW
	}
	return messages.ConflictMode_CONFLICT_MODE_DEFAULT
}

// Settings are the values a list of options sets; zero means the default.
type Settings struct {
	R, W     int
	Timeout  time.Duration
	LWW      bool
	IfAbsent bool
	// TTL is the time to live set by TTL, nil when none was.
	TTL *time.Duration
}

// SettingsOf returns what opts set, for wrappers and test fakes of the
// client.
func SettingsOf(opts ...Option) Settings {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return Settings{R: o.r, W: o.w, Timeout: o.timeout, LWW: o.lww, IfAbsent: o.ifAbsent, TTL: o.ttl}
}
