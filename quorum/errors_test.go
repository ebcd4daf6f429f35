package quorum

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Op: OpRead, Kind: KindQuorum, Need: 2, Got: 1, Asked: 3, Failed: 1, TimedOut: 1},
			"read quorum: 1 of 2 replicas answered (3 asked: 1 failed, 1 timed out)"},
		{Error{Op: OpRead, Kind: KindQuorum, Need: 3, Got: 0, Asked: 5, NotFound: 2, Failed: 1},
			"read quorum: 0 of 3 replicas answered (5 asked: 2 not found, 1 failed)"},
		{Error{Op: OpRead, Kind: KindQuorum, Need: 1, Got: 0, Asked: 1},
			"read quorum: 0 of 1 replicas answered (1 asked)"},
		{Error{Op: OpWrite, Kind: KindQuorum, Need: 2, Got: 0, Asked: 3, Failed: 2},
			"write quorum: 0 of 2 replicas acked (3 asked: 2 failed)"},
		{Error{Op: OpRead, Kind: KindPrimary, Need: 2, Got: 1, Asked: 2, TimedOut: 1},
			"read primary quorum: 1 of 2 primaries answered not found (2 asked: 1 timed out)"},
		{Error{Op: OpWrite, Kind: KindDurable, Need: 1, Got: 0, Asked: 3, TimedOut: 1},
			"write durable quorum: 0 of 1 durable replicas acked (3 asked: 1 timed out)"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorWrapping(t *testing.T) {
	c := mustGet(t, GetConfig[vset]{N: 3, R: 2, NotFoundOK: true, Replicas: nodes("a", "b", "c")})
	mustAdd(t, c.Add("a", Found, vset{"x": 1}, nil))
	mustAdd(t, c.Add("b", Failed, nil, errDisk))
	c.Timeout()
	_, err := c.Result()
	wrapped := fmt.Errorf("get k: %w", err)
	if !errors.Is(wrapped, ErrQuorum) {
		t.Fatalf("errors.Is(%v, ErrQuorum) = false", wrapped)
	}
	if errors.Is(wrapped, ErrInvalid) || errors.Is(wrapped, ErrDuplicate) || errors.Is(wrapped, ErrUnknownNode) {
		t.Fatalf("%v matches an unrelated sentinel", wrapped)
	}
	var qe *Error
	if !errors.As(wrapped, &qe) {
		t.Fatalf("errors.As(%v, *Error) = false", wrapped)
	}
	want := Error{Op: OpRead, Kind: KindQuorum, Need: 2, Got: 1, Asked: 3, Failed: 1, TimedOut: 1}
	got := *qe
	got.Causes = nil
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Fatalf("*Error = %+v, want %+v", got, want)
	}
	if causeNodes(qe.Causes) != "b:Failed,c:TimedOut" || qe.Causes[0].Err != errDisk || qe.Causes[1].Err != nil {
		t.Fatalf("Causes = %v", qe.Causes)
	}
	if qe.Error() != "read quorum: 1 of 2 replicas answered (3 asked: 1 failed, 1 timed out)" {
		t.Fatalf("Error() = %q", qe.Error())
	}
}

func TestSentinelMessages(t *testing.T) {
	for err, want := range map[error]string{
		ErrQuorum:      "quorum: not reached",
		ErrInvalid:     "quorum: invalid argument",
		ErrDuplicate:   "quorum: duplicate reply",
		ErrUnknownNode: "quorum: reply from a node that was not asked",
		ErrPending:     "quorum: not decided yet",
	} {
		if err.Error() != want {
			t.Errorf("sentinel %q, want %q", err, want)
		}
	}
}
