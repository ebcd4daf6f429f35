package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/request"
)

// Errors. Match them with errors.Is; the typed errors below carry the
// details.
var (
	// ErrUnavailable: no node could be reached or answered, or a node
	// answered ERROR_CODE_UNAVAILABLE (no replica of the key reachable).
	ErrUnavailable = errors.New("client: no node answered")
	// ErrTimeout: the caller's context deadline passed, or a node answered
	// ERROR_CODE_TIMEOUT (the request deadline passed before a quorum).
	ErrTimeout = errors.New("client: timeout")
	// ErrQuorum: fewer replicas than R or W answered (*QuorumError).
	ErrQuorum = errors.New("client: quorum not reached")
	// ErrInvalid: a request argument is wrong (*InvalidError).
	ErrInvalid = errors.New("client: invalid argument")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client: closed")
	// ErrExists: a Put with IfAbsent found the key holding a value (a
	// *ServerError with ERROR_CODE_EXISTS).
	ErrExists = errors.New("client: the key holds a value")
)

// Op is a key operation: OpGet, OpPut or OpDelete (request.Op: its String
// is "get", "put" or "delete").
type Op = request.Op

// The key operations.
const (
	OpGet    = request.OpGet
	OpPut    = request.OpPut
	OpDelete = request.OpDelete
)

// QuorumError reports that fewer than Need replicas answered (Got).
type QuorumError struct {
	// Op is the operation that did not reach its quorum.
	Op Op
	// Need is R or W; Got is how many replicas answered in time.
	Need, Got int
	// Msg is the node's description, e.g. "write quorum: 1 of 2 replicas
	// acked (3 asked: 2 failed)".
	Msg string
}

func (e *QuorumError) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	kind := "write"
	if e.Op == OpGet {
		kind = "read"
	}
	return fmt.Sprintf("%s quorum: %d of %d replicas answered", kind, e.Got, e.Need)
}

// Is makes errors.Is(err, ErrQuorum) true.
func (e *QuorumError) Is(target error) bool { return target == ErrQuorum }

// InvalidError reports a bad request argument, found by the client before
// sending or by the node (ERROR_CODE_INVALID_ARGUMENT, TOO_LARGE,
// BAD_CONTEXT).
type InvalidError struct {
	// Field names the argument: "key", "value", "context", "r", "w",
	// "timeout", ...
	Field string
	// Msg says what is wrong and, for a limit, the limit.
	Msg string
	// Code is the node's error code; ERROR_CODE_INVALID_ARGUMENT for
	// errors found by the client.
	Code messages.ErrorCode
}

func (e *InvalidError) Error() string {
	if e.Field == "" || strings.HasPrefix(e.Msg, e.Field) {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// ServerError is any other error a node answered with: STORAGE, INTERNAL,
// UNSUPPORTED (the node speaks an older protocol), TOO_MANY_SIBLINGS,
// TIMEOUT (also matches ErrTimeout), UNAVAILABLE (also matches
// ErrUnavailable) and EXISTS (also matches ErrExists).
type ServerError struct {
	Code messages.ErrorCode
	Msg  string
	// Node is the address of the node that answered.
	Node string
}

func (e *ServerError) Error() string {
	name := codeName(e.Code)
	if e.Msg == "" {
		return name
	}
	return name + ": " + e.Msg
}

// Is matches ErrTimeout, ErrUnavailable and ErrExists for those codes.
func (e *ServerError) Is(target error) bool {
	switch target {
	case ErrTimeout:
		return e.Code == messages.ErrorCode_ERROR_CODE_TIMEOUT
	case ErrUnavailable:
		return e.Code == messages.ErrorCode_ERROR_CODE_UNAVAILABLE
	case ErrExists:
		return e.Code == messages.ErrorCode_ERROR_CODE_EXISTS
	}
	return false
}

// codeName is "too many siblings" for ERROR_CODE_TOO_MANY_SIBLINGS.
func codeName(c messages.ErrorCode) string {
	return strings.ReplaceAll(c.Slug(), "_", " ")
}

// opNamed is the key operation named op ("get", "put", "delete"), 0 for
// the other calls (their errors are never QUORUM).
func opNamed(op string) Op {
	for _, o := range []Op{OpGet, OpPut, OpDelete} {
		if o.String() == op {
			return o
		}
	}
	return 0
}

// fromWire turns a node's error into the client's typed error.
func fromWire(op, node string, e *messages.Error) error {
	switch e.GetCode() {
	case messages.ErrorCode_ERROR_CODE_QUORUM:
		return &QuorumError{Op: opNamed(op), Need: int(e.GetNeed()), Got: int(e.GetGot()), Msg: e.GetMessage()}
	case messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, messages.ErrorCode_ERROR_CODE_TOO_LARGE, messages.ErrorCode_ERROR_CODE_BAD_CONTEXT:
		msg := e.GetMessage()
		if msg == "" {
			msg = codeName(e.GetCode())
		}
		return &InvalidError{Field: e.GetField(), Msg: msg, Code: e.GetCode()}
	}
	return &ServerError{Code: e.GetCode(), Msg: e.GetMessage(), Node: node}
}

func invalidf(field, format string, args ...any) error {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...), Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT}
}
