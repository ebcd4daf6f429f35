package quorum

import (
	"strconv"
	"strings"
)

// Op is what a quorum is counted for: OpRead (R) or OpWrite (W). Its
// value is its name in errors.
type Op string

// Values of Op.
const (
	OpRead  Op = "read"
	OpWrite Op = "write"
)

// Kind is which quorum an Error missed.
type Kind string

// Values of Kind.
const (
	// KindQuorum: R (reads) or W (writes) replicas could not be reached.
	KindQuorum Kind = "quorum"
	// KindPrimary: a read whose route has fallbacks found nothing without
	// R primaries' "not found" (a fallback's "not found" only means it
	// holds no hint). The coordinator builds it (coordinator.Get).
	KindPrimary Kind = "primary"
	// KindDurable: a write with durable writes "one" whose W replicas
	// acked, but not the coordinator's own fsynced write, by the deadline
	// (the others' acks are not durable yet). The coordinator builds it
	// (coordinator.Put): Need 1, Got 0.
	KindDurable Kind = "durable"
)

// Cause is the reply of one replica that did not answer usefully.
type Cause struct {
	Node Node
	Kind ReplyKind // Failed or TimedOut
	Err  error     // the error given to Add; nil for a TimedOut set by Timeout
}

// Error reports a read or write that could not reach its quorum, with what it
// needed and what it got, as counted when the core decided. It wraps
// ErrQuorum.
type Error struct {
	Op   Op
	Kind Kind
	// Need is R or W; Got is how many replies counted toward it: for reads
	// the Found replies plus, when NotFoundOK, the NotFound ones (the
	// primaries' NotFound ones only, for KindPrimary); for writes the acks.
	Need, Got int
	// Asked is how many replicas were asked (primaries only for
	// KindPrimary).
	Asked int
	// NotFound counts NotFound replies that did not count toward R (reads
	// with NotFoundOK false).
	NotFound int
	// Failed and TimedOut count the replies of those kinds among the Asked
	// replicas.
	Failed, TimedOut int
	// Causes lists the Failed and TimedOut replies among the Asked replicas,
	// in the order of the replicas asked.
	Causes []Cause
}

// Error formats as, for example,
//
//	read quorum: 1 of 2 replicas answered (3 asked: 1 failed, 1 timed out)
//	write quorum: 0 of 2 replicas acked (3 asked: 2 failed)
//	read primary quorum: 1 of 2 primaries answered not found (2 asked: 1 failed)
//	write durable quorum: 0 of 1 durable replicas acked (3 asked: 1 timed out)
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Op))
	if e.Kind == KindPrimary || e.Kind == KindDurable {
		b.WriteString(" " + string(e.Kind))
	}
	b.WriteString(" quorum: ")
	b.WriteString(strconv.Itoa(e.Got))
	b.WriteString(" of ")
	b.WriteString(strconv.Itoa(e.Need))
	switch {
	case e.Kind == KindPrimary:
		b.WriteString(" primaries answered not found")
	case e.Kind == KindDurable:
		b.WriteString(" durable replicas acked")
	case e.Op == OpWrite:
		b.WriteString(" replicas acked")
	default:
		b.WriteString(" replicas answered")
	}
	b.WriteString(" (")
	b.WriteString(strconv.Itoa(e.Asked))
	b.WriteString(" asked")
	sep := ": "
	for _, part := range []struct {
		n    int
		what string
	}{{e.NotFound, "not found"}, {e.Failed, "failed"}, {e.TimedOut, "timed out"}} {
		if part.n == 0 {
			continue
		}
		b.WriteString(sep)
		b.WriteString(strconv.Itoa(part.n))
		b.WriteString(" ")
		b.WriteString(part.what)
		sep = ", "
	}
	b.WriteString(")")
	return b.String()
}

// Unwrap returns ErrQuorum.
func (e *Error) Unwrap() error { return ErrQuorum }
