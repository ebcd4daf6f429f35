package request

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/version"
)

func TestCheckNamesTheFieldAndTheLimit(t *testing.T) {
	l := DefaultLimits()
	big := func(n int) []byte { return bytes.Repeat([]byte("x"), n) }
	const inv, large = messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, messages.ErrorCode_ERROR_CODE_TOO_LARGE
	for _, tc := range []struct {
		name   string
		lim    Limits
		r      Request
		n      int
		code   messages.ErrorCode
		field  string
		substr string
	}{
		{"ok get", l, Request{Op: OpGet, Key: []byte("k"), Quorum: 2, Timeout: time.Second}, 3, 0, "", ""},
		{"ok put at the limits", l, Request{Op: OpPut, Key: big(DefaultMaxKeyBytes), Value: big(DefaultMaxValueBytes), Quorum: 3, Timeout: MaxTimeout}, 3, 0, "", ""},
		{"defaults", l, Request{Op: OpDelete, Key: []byte("k")}, 3, 0, "", ""},
		{"empty key", l, Request{Op: OpGet}, 3, inv, "key", "key must not be empty"},
		{"long key", l, Request{Op: OpPut, Key: big(DefaultMaxKeyBytes + 1)}, 3, large, "key", "key is 65537 bytes, the limit is 65536"},
		{"large value", l, Request{Op: OpPut, Key: []byte("k"), Value: big(DefaultMaxValueBytes + 1)}, 3, large, "value", "the limit is 1048576"},
		{"client: sizes unchecked", Limits{}, Request{Op: OpPut, Key: big(DefaultMaxKeyBytes + 1), Value: big(DefaultMaxValueBytes + 1)}, 3, 0, "", ""},
		{"negative r", l, Request{Op: OpGet, Key: []byte("k"), Quorum: -1}, 3, inv, "r", "r must not be negative, got -1"},
		{"w above n", l, Request{Op: OpPut, Key: []byte("k"), Quorum: 4}, 3, inv, "w", "w=4 exceeds n=3"},
		{"n unknown", l, Request{Op: OpPut, Key: []byte("k"), Quorum: 4}, 0, 0, "", ""},
		{"negative timeout", l, Request{Op: OpGet, Key: []byte("k"), Timeout: -time.Second}, 3, inv, "timeout", "must not be negative"},
		{"timeout above the cap", l, Request{Op: OpDelete, Key: []byte("k"), Timeout: time.Hour}, 3, inv, "timeout", "timeout 1h0m0s exceeds the limit of 1m0s"},
	} {
		e := tc.lim.Check(tc.r, tc.n)
		if tc.code == 0 {
			if e != nil {
				t.Errorf("%s: %v", tc.name, e)
			}
			continue
		}
		if e.GetCode() != tc.code || e.GetField() != tc.field || !strings.Contains(e.GetMessage(), tc.substr) {
			t.Errorf("%s: got %v, want %v naming %q with %q", tc.name, e, tc.code, tc.field, tc.substr)
		}
		if tc.code == large && e.GetNeed() == 0 {
			t.Errorf("%s: TOO_LARGE without the limit in Need", tc.name)
		}
	}
}

func TestOpNames(t *testing.T) {
	for op, want := range map[Op]string{OpGet: "get r", OpPut: "put w", OpDelete: "delete w"} {
		if got := op.String() + " " + op.QuorumField(); got != want {
			t.Errorf("%d: %q, want %q", op, got, want)
		}
	}
}

func TestDecodeContext(t *testing.T) {
	want := version.Context{Clock: version.Clock{{Actor: "a@1", Counter: 3}}}
	got, e := DecodeContext(version.EncodeContext(want))
	if e != nil || len(got.Clock) != 1 || got.Clock[0] != want.Clock[0] {
		t.Fatalf("round trip: %+v %v", got, e)
	}
	if _, e := DecodeContext([]byte("junk")); e.GetCode() != messages.ErrorCode_ERROR_CODE_BAD_CONTEXT || e.GetField() != "context" {
		t.Fatalf("junk: %v", e)
	}
}

func TestCheckTTL(t *testing.T) {
	for _, ok := range []time.Duration{0, time.Millisecond, 30 * time.Minute, MaxTTL} {
		if e := CheckTTL(ok); e != nil {
			t.Errorf("%v: %v", ok, e)
		}
	}
	for d, want := range map[time.Duration]string{-time.Second: "negative", time.Microsecond: "below the least of 1ms",
		1500 * time.Microsecond: "whole number of milliseconds", MaxTTL + time.Millisecond: "exceeds the limit"} {
		if e := CheckTTL(d); e == nil || e.GetField() != "ttl" || !strings.Contains(e.GetMessage(), want) {
			t.Errorf("%v: %v, want an error on ttl saying %q", d, e, want)
		}
	}
	if d, e := TTLOfMillis(1500); e != nil || d != 1500*time.Millisecond {
		t.Errorf("1500 ms: %v %v", d, e)
	}
	if _, e := TTLOfMillis(math.MaxUint64); e == nil || !strings.Contains(e.GetMessage(), "18446744073709551615 ms exceeds") {
		t.Errorf("2^64-1 ms: %v", e)
	}
	if e := (Limits{}).Check(Request{Op: OpDelete, Key: []byte("k"), TTL: time.Second}, 3); e == nil || e.GetField() != "ttl" {
		t.Errorf("a delete with a ttl: %v", e)
	}
}
