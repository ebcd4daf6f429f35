package quorum

import (
	"errors"
	"fmt"
	"strconv"
)

// MaxN is the largest replication factor Validate accepts.
const MaxN = 16

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrQuorum is wrapped by every *Error: a read or write that could not
	// reach its quorum.
	ErrQuorum = errors.New("quorum: not reached")
	// ErrInvalid is wrapped by configuration errors and by Add calls with a
	// reply kind the core does not accept.
	ErrInvalid = errors.New("quorum: invalid argument")
	// ErrDuplicate is wrapped by Add when the node already has a reply
	// (including a TimedOut set by Timeout).
	ErrDuplicate = errors.New("quorum: duplicate reply")
	// ErrUnknownNode is wrapped by Add when the node was not asked.
	ErrUnknownNode = errors.New("quorum: reply from a node that was not asked")
	// ErrPending is returned by Result before the core has decided.
	ErrPending = errors.New("quorum: not decided yet")
)

// Node identifies a replica (a node name).
type Node string

// ReplyKind is what a replica answered. Its zero value is not a valid kind.
// A GetCore accepts Found, NotFound, Failed and TimedOut; a PutCore accepts
// Acked, Failed and TimedOut.
type ReplyKind int

const (
	// Found: the replica holds the key and returned its value (reads).
	Found ReplyKind = iota + 1
	// NotFound: the replica does not hold the key (reads).
	NotFound
	// Acked: the replica stored the write (writes).
	Acked
	// Failed: the replica returned an error.
	Failed
	// TimedOut: no reply before the deadline, or the connection dropped.
	TimedOut
	// NotAsked: the coordinator did not send the request (GetCore.Skip);
	// it is a state, not a reply Add accepts.
	NotAsked
)

var replyKindNames = [...]string{
	Found:    "Found",
	NotFound: "NotFound",
	Acked:    "Acked",
	Failed:   "Failed",
	TimedOut: "TimedOut",
	NotAsked: "NotAsked",
}

func (k ReplyKind) String() string {
	if k >= Found && k <= NotAsked {
		return replyKindNames[k]
	}
	return "ReplyKind(" + strconv.Itoa(int(k)) + ")"
}

// invalidError is a configuration or argument error. Its message is
// "quorum: " followed by the detail; it wraps ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return "quorum: " + e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Validate checks a replication factor and its read and write quorums:
// 1 <= n <= MaxN, 1 <= r <= n and 1 <= w <= n. The error wraps ErrInvalid and
// names the field and the limit, e.g. "quorum: r=4 exceeds n=3".
func Validate(n, r, w int) error {
	if err := validateN(n); err != nil {
		return err
	}
	if err := validateQuorum("r", r, n); err != nil {
		return err
	}
	return validateQuorum("w", w, n)
}

func validateN(n int) error {
	if n < 1 {
		return invalidf("n must be at least 1, got %d", n)
	}
	if n > MaxN {
		return invalidf("n=%d exceeds MaxN=%d", n, MaxN)
	}
	return nil
}

func validateQuorum(name string, v, n int) error {
	if v < 1 {
		return invalidf("%s must be at least 1, got %d", name, v)
	}
	if v > n {
		return invalidf("%s=%d exceeds n=%d", name, v, n)
	}
	return nil
}

// validateReplicas checks that the asked list has no empty or repeated node
// and at least need entries, and returns the index of each node.
func validateReplicas(replicas []Node, name string, need int) (map[Node]int, error) {
	index := make(map[Node]int, len(replicas))
	for i, node := range replicas {
		if node == "" {
			return nil, invalidf("replica %d has an empty node name", i)
		}
		if j, dup := index[node]; dup {
			return nil, invalidf("replica %q is listed twice (positions %d and %d)", node, j, i)
		}
		index[node] = i
	}
	if len(replicas) < need {
		return nil, invalidf("%s=%d exceeds the %d replicas asked", name, need, len(replicas))
	}
	return index, nil
}

// wrapError is an error with its own message that wraps a sentinel.
type wrapError struct {
	sentinel error
	msg      string
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.sentinel }

func unknownNode(node Node) error {
	return &wrapError{ErrUnknownNode, "quorum: reply from a node that was not asked: " + string(node)}
}

func duplicate(node Node, prev ReplyKind) error {
	return &wrapError{ErrDuplicate, "quorum: duplicate reply: " + string(node) + " already replied " + prev.String()}
}

// causes lists the Failed and TimedOut replies, in replica order, of the
// replicas for which keep returns true (all when keep is nil).
func causes(replicas []Node, kinds []ReplyKind, errs []error, keep func(i int) bool) []Cause {
	var out []Cause
	for i, k := range kinds {
		if (k == Failed || k == TimedOut) && (keep == nil || keep(i)) {
			out = append(out, Cause{Node: replicas[i], Kind: k, Err: errs[i]})
		}
	}
	return out
}
