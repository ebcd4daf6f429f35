package request

import (
	"fmt"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/version"
)

// Op is a client request's operation.
type Op uint8

// Operations.
const (
	OpGet Op = iota + 1
	OpPut
	OpDelete
)

// String is the operation's name in errors, logs and metrics: "get", "put"
// or "delete".
func (o Op) String() string {
	switch o {
	case OpGet:
		return "get"
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// QuorumField is the field holding the operation's quorum: "r" for a get,
// "w" for a put or a delete.
func (o Op) QuorumField() string {
	if o == OpGet {
		return "r"
	}
	return "w"
}

// MaxTimeout is the longest deadline a request may carry, everywhere.
const MaxTimeout = time.Minute

// MaxGetManyKeys is the most keys one GetMany may read: its answer holds
// every key's siblings in one message.
const MaxGetManyKeys = 1000

// CheckMany checks the number of keys of a GetMany (its keys are checked
// one by one with Check).
func CheckMany(keys int) *messages.Error {
	switch {
	case keys == 0:
		return Invalid("keys", "keys must not be empty")
	case keys > MaxGetManyKeys:
		return Invalid("keys", fmt.Sprintf("%d keys, the limit is %d per call", keys, MaxGetManyKeys))
	}
	return nil
}

// Defaults of a node's Limits.
const (
	// DefaultMaxKeyBytes is the default largest key: 64 KiB.
	DefaultMaxKeyBytes = 64 << 10
	// DefaultMaxValueBytes is the default largest value: 1 MiB.
	DefaultMaxValueBytes = 1 << 20
)

// Limits bound the sizes in client requests. A zero field is not checked:
// a client, which does not know its nodes' limits, checks with the zero
// Limits.
type Limits struct {
	// MaxKeyBytes is the largest key, in bytes. A node's default is
	// DefaultMaxKeyBytes.
	MaxKeyBytes int
	// MaxValueBytes is the largest value of a put, in bytes. A node's
	// default is DefaultMaxValueBytes.
	MaxValueBytes int
}

// DefaultLimits are a node's default limits.
func DefaultLimits() Limits {
	return Limits{MaxKeyBytes: DefaultMaxKeyBytes, MaxValueBytes: DefaultMaxValueBytes}
}

// Request is one get, put or delete, as every entry point sees it.
type Request struct {
	Op    Op
	Key   []byte
	Value []byte // a put's
	// Quorum is R for a get, W for a put or delete; 0 is the node's
	// default.
	Quorum int
	// Timeout is the request's deadline; 0 is the default.
	Timeout time.Duration
	// TTL is a put's time to live; 0 never expires.
	TTL time.Duration
}

// Check returns the first thing wrong with r under l and n, the cluster's
// replication factor (0: unknown, the quorum is not compared with it), or
// nil.
func (l Limits) Check(r Request, n int) *messages.Error {
	q := r.Op.QuorumField()
	switch {
	case len(r.Key) == 0:
		return Invalid("key", "key must not be empty")
	case l.MaxKeyBytes > 0 && len(r.Key) > l.MaxKeyBytes:
		return TooLarge("key", len(r.Key), l.MaxKeyBytes)
	case l.MaxValueBytes > 0 && len(r.Value) > l.MaxValueBytes:
		return TooLarge("value", len(r.Value), l.MaxValueBytes)
	case r.Quorum < 0:
		return Invalid(q, fmt.Sprintf("%s must not be negative, got %d", q, r.Quorum))
	case n > 0 && r.Quorum > n:
		return Invalid(q, fmt.Sprintf("%s=%d exceeds n=%d", q, r.Quorum, n))
	case r.TTL != 0 && r.Op != OpPut:
		return Invalid("ttl", fmt.Sprintf("only a put takes a ttl, not a %s", r.Op))
	}
	if err := CheckTTL(r.TTL); err != nil {
		return err
	}
	return CheckTimeout(r.Timeout)
}

// MaxTTL is the longest time to live a put may set: 100 years.
const MaxTTL = 100 * 365 * 24 * time.Hour

// CheckTTL checks a put's time to live: 0 (never expires), or a whole
// number of milliseconds (the wire's unit) from 1 ms to MaxTTL.
func CheckTTL(d time.Duration) *messages.Error {
	switch {
	case d < 0:
		return Invalid("ttl", fmt.Sprintf("ttl must not be negative, got %v", d))
	case d > 0 && d < time.Millisecond:
		return Invalid("ttl", fmt.Sprintf("ttl %v is below the least of 1ms", d))
	case d%time.Millisecond != 0:
		return Invalid("ttl", fmt.Sprintf("ttl %v is not a whole number of milliseconds", d))
	case d > MaxTTL:
		return Invalid("ttl", fmt.Sprintf("ttl %v exceeds the limit of %v", d, MaxTTL))
	}
	return nil
}

// TTLOfMillis is the time to live of a wire's ttl_ms, checked (CheckTTL).
func TTLOfMillis(ms uint64) (time.Duration, *messages.Error) {
	if ms > uint64(MaxTTL/time.Millisecond) {
		return 0, Invalid("ttl", fmt.Sprintf("ttl of %d ms exceeds the limit of %v", ms, MaxTTL))
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// CheckTimeout checks a request's deadline: 0 (the default) or up to
// MaxTimeout.
func CheckTimeout(d time.Duration) *messages.Error {
	switch {
	case d < 0:
		return Invalid("timeout", fmt.Sprintf("timeout must not be negative, got %v", d))
	case d > MaxTimeout:
		return Invalid("timeout", fmt.Sprintf("timeout %v exceeds the limit of %v", d, MaxTimeout))
	}
	return nil
}

// DecodeContext decodes a put's or delete's causal context once, for the
// coordinator to use; a context that does not decode is BAD_CONTEXT naming
// "context".
func DecodeContext(b []byte) (version.Context, *messages.Error) {
	c, err := version.DecodeContext(b)
	if err != nil {
		return version.Context{}, &messages.Error{Code: messages.ErrorCode_ERROR_CODE_BAD_CONTEXT, Field: "context", Message: err.Error()}
	}
	return c, nil
}

// Invalid is an INVALID_ARGUMENT error naming field.
func Invalid(field, msg string) *messages.Error {
	return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Field: field, Message: msg}
}

// TooLarge is a TOO_LARGE error for field, size bytes against limit (Need).
// A negative size means "more than the limit", when the size is not known
// (a body read only up to the limit).
func TooLarge(field string, size, limit int) *messages.Error {
	msg := fmt.Sprintf("%s is more than %d bytes, the limit", field, limit)
	if size >= 0 {
		msg = fmt.Sprintf("%s is %d bytes, the limit is %d", field, size, limit)
	}
	return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_TOO_LARGE, Field: field, Message: msg, Need: uint64(limit)}
}
