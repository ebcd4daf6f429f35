package quorum

import (
	"strconv"
	"strings"
)

// Values of Error.Op.
const (
	OpRead  = "read"
	OpWrite = "write"
)

// Values of Error.Kind.
const (
	// KindQuorum: R (reads) or W (writes) replicas could not be reached.
	KindQuorum = "quorum"
	// KindPrimary: PW primary replicas could not be reached (writes), or a
	// read whose route has fallbacks found nothing without R primaries'
	// "not found" (a fallback's "not found" only means it holds no hint).
	KindPrimary = "primary"
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
	Op   string // OpRead or OpWrite
	Kind string // KindQuorum or KindPrimary
	// Need is R, W or PW; Got is how many replies counted toward it: for
	// reads the Found replies plus, when NotFoundOK, the NotFound ones; for
	// writes the acks (of primaries only, for KindPrimary).
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
//	write primary quorum: 1 of 2 primaries acked (2 asked: 1 timed out)
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Kind == KindPrimary {
		b.WriteString(" primary")
	}
	b.WriteString(" quorum: ")
	b.WriteString(strconv.Itoa(e.Got))
	b.WriteString(" of ")
	b.WriteString(strconv.Itoa(e.Need))
	switch {
	case e.Kind == KindPrimary && e.Op == OpRead:
		b.WriteString(" primaries answered not found")
	case e.Kind == KindPrimary:
		b.WriteString(" primaries acked")
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
