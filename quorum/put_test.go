package quorum

import (
	"errors"
	"slices"
	"testing"
)

type putStep struct {
	node    Node
	kind    ReplyKind
	timeout bool
	enough  bool
}

func ack(node Node, enough bool) putStep { return putStep{node: node, kind: Acked, enough: enough} }
func nack(node Node, kind ReplyKind, enough bool) putStep {
	return putStep{node: node, kind: kind, enough: enough}
}

func TestPutScenarios(t *testing.T) {
	tests := []struct {
		name      string
		w         int
		replicas  []Node // a b c when nil
		fallbacks map[Node]Node
		steps     []putStep
		acked     int
		hinted    int
		err       string
		kind      Kind
	}{
		{
			name: "w acks", w: 2,
			steps: []putStep{ack("a", false), ack("b", true), ack("c", true)},
			acked: 2,
		},
		{
			name: "w=1 first ack", w: 1,
			steps: []putStep{nack("a", Failed, false), ack("c", true)},
			acked: 1,
		},
		{
			name: "fallback counts toward w", w: 2, fallbacks: map[Node]Node{"c": "d"},
			steps: []putStep{ack("c", false), nack("a", TimedOut, false), ack("b", true)},
			acked: 2, hinted: 1,
		},
		{
			name: "sloppy quorum of fallbacks only", w: 2, fallbacks: map[Node]Node{"b": "e", "c": "d"},
			steps: []putStep{nack("a", Failed, false), ack("c", false), ack("b", true)},
			acked: 2, hinted: 2,
		},
		{
			name: "fallback ack counted as hinted", w: 2, fallbacks: map[Node]Node{"c": "d"},
			steps: []putStep{ack("a", false), ack("c", true), ack("b", true)},
			acked: 2, hinted: 1,
		},
		{
			name: "fallback failures do not decide", w: 1, fallbacks: map[Node]Node{"c": "d"},
			steps: []putStep{nack("c", Failed, false), nack("b", Failed, false), ack("a", true)},
			acked: 1,
		},
		{
			name: "w unreachable", w: 2,
			steps: []putStep{nack("a", Failed, false), nack("b", TimedOut, true), ack("c", true)},
			err:   "write quorum: 0 of 2 replicas acked (3 asked: 1 failed, 1 timed out)", kind: KindQuorum,
		},
		{
			name: "w=n fails on first failure", w: 3,
			steps: []putStep{ack("a", false), nack("c", Failed, true)},
			err:   "write quorum: 1 of 3 replicas acked (3 asked: 1 failed)", kind: KindQuorum,
		},
		{
			name: "w unreachable with fallbacks", w: 3, replicas: nodes("a", "b", "c"), fallbacks: map[Node]Node{"b": "d", "c": "e"},
			steps: []putStep{nack("a", Failed, true)},
			err:   "write quorum: 0 of 3 replicas acked (3 asked: 1 failed)", kind: KindQuorum,
		},
		{
			name: "timeout", w: 2,
			steps: []putStep{ack("b", false), {timeout: true, enough: true}},
			err:   "write quorum: 1 of 2 replicas acked (3 asked: 2 timed out)", kind: KindQuorum,
		},
		{
			name: "more replicas than n", w: 3, replicas: nodes("a", "b", "c", "d"), fallbacks: map[Node]Node{"d": "x"},
			steps: []putStep{nack("a", Failed, false), ack("b", false), ack("d", false), ack("c", true)},
			acked: 3, hinted: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replicas := tt.replicas
			if replicas == nil {
				replicas = nodes("a", "b", "c")
			}
			c := mustPut(t, PutConfig{N: 3, W: tt.w, Replicas: replicas, Fallbacks: tt.fallbacks})
			for i, s := range tt.steps {
				if s.timeout {
					c.Timeout()
				} else {
					var err error
					if s.kind == Failed {
						err = errDisk
					}
					mustAdd(t, c.Add(s.node, s.kind, err))
				}
				if got := c.Enough(); got != s.enough {
					t.Fatalf("step %d (%+v): Enough() = %v, want %v", i, s, got, s.enough)
				}
			}
			res, err := c.Result()
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Result() error = %v, want success", err)
				}
				want := PutResult{Acked: tt.acked, Hinted: tt.hinted, Asked: len(replicas)}
				if res != want {
					t.Fatalf("Result() = %+v, want %+v", res, want)
				}
				return
			}
			if err == nil || err.Error() != tt.err {
				t.Fatalf("Result() = %+v, %v; want error %q", res, err, tt.err)
			}
			var qe *Error
			if !errors.As(err, &qe) || !errors.Is(err, ErrQuorum) || qe.Kind != tt.kind || qe.Op != OpWrite {
				t.Fatalf("Result() error = %#v, want *Error %s wrapping ErrQuorum", err, tt.kind)
			}
			if res != (PutResult{}) {
				t.Fatalf("Result() with error also returned %+v", res)
			}
		})
	}
}

func TestPutQuorumErrorCauses(t *testing.T) {
	c := mustPut(t, PutConfig{N: 3, W: 2, Replicas: nodes("a", "b", "c"), Fallbacks: map[Node]Node{"c": "x"}})
	mustAdd(t, c.Add("c", Failed, errDisk))
	c.Timeout()
	_, err := c.Result()
	var qe *Error
	if !errors.As(err, &qe) {
		t.Fatalf("Result() = %v", err)
	}
	if causeNodes(qe.Causes) != "a:TimedOut,b:TimedOut,c:Failed" || qe.Failed != 1 || qe.TimedOut != 2 {
		t.Fatalf("error = %+v", qe)
	}
}

func TestPutAddMisuse(t *testing.T) {
	c := mustPut(t, PutConfig{N: 3, W: 2, Replicas: nodes("a", "b", "c")})
	mustAdd(t, c.Add("a", Acked, nil))
	tests := []struct {
		node     Node
		kind     ReplyKind
		sentinel error
		msg      string
	}{
		{"a", Acked, ErrDuplicate, "quorum: duplicate reply: a already replied Acked"},
		{"a", Failed, ErrDuplicate, "quorum: duplicate reply: a already replied Acked"},
		{"q", Acked, ErrUnknownNode, "quorum: reply from a node that was not asked: q"},
		{"b", Found, ErrInvalid, "quorum: reply kind Found from b is not a write reply"},
		{"b", NotFound, ErrInvalid, "quorum: reply kind NotFound from b is not a write reply"},
		{"b", 0, ErrInvalid, "quorum: reply kind ReplyKind(0) from b is not a write reply"},
	}
	for _, tt := range tests {
		err := c.Add(tt.node, tt.kind, nil)
		if !errors.Is(err, tt.sentinel) || err.Error() != tt.msg {
			t.Errorf("Add(%q, %v) = %v, want %q wrapping %v", tt.node, tt.kind, err, tt.msg, tt.sentinel)
		}
	}
	if c.Enough() {
		t.Fatal("rejected replies made the write succeed")
	}
	mustAdd(t, c.Add("b", Acked, nil))
	if res, err := c.Result(); err != nil || res.Acked != 2 {
		t.Fatalf("Result() = %+v, %v", res, err)
	}
	c.Timeout()
	if err := c.Add("c", Acked, nil); !errors.Is(err, ErrDuplicate) || err.Error() != "quorum: duplicate reply: c already replied TimedOut" {
		t.Fatalf("late ack after Timeout = %v", err)
	}
}

func TestPutDecisionIsFixed(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		c := mustPut(t, PutConfig{N: 3, W: 1, Replicas: nodes("a", "b", "c"), Fallbacks: map[Node]Node{"c": "d"}})
		mustAdd(t, c.Add("a", Acked, nil))
		mustAdd(t, c.Add("c", Acked, nil))
		mustAdd(t, c.Add("b", Failed, errDisk))
		res, err := c.Result()
		if err != nil || res != (PutResult{Acked: 1, Hinted: 0, Asked: 3}) {
			t.Fatalf("Result() = %+v, %v; want the answer at the first ack", res, err)
		}
	})
	t.Run("failure", func(t *testing.T) {
		c := mustPut(t, PutConfig{N: 3, W: 3, Replicas: nodes("a", "b", "c")})
		mustAdd(t, c.Add("a", Failed, errDisk))
		_, err1 := c.Result()
		mustAdd(t, c.Add("b", Acked, nil))
		mustAdd(t, c.Add("c", Acked, nil))
		_, err2 := c.Result()
		if err1 == nil || err2 == nil || err1.Error() != err2.Error() || err2.Error() != "write quorum: 0 of 3 replicas acked (3 asked: 1 failed)" {
			t.Fatalf("Result() changed after the decision: %v then %v", err1, err2)
		}
		if !c.Done() {
			t.Fatal("late acks not recorded: not Done")
		}
	})
}

func TestPutResultPending(t *testing.T) {
	c := mustPut(t, PutConfig{N: 3, W: 2, Replicas: nodes("a", "b", "c")})
	if _, err := c.Result(); err != ErrPending {
		t.Fatalf("Result() = %v, want ErrPending", err)
	}
	mustAdd(t, c.Add("a", Acked, nil))
	if _, err := c.Result(); err != ErrPending {
		t.Fatalf("Result() = %v, want ErrPending", err)
	}
}

func TestPutKindAndDone(t *testing.T) {
	c := mustPut(t, PutConfig{N: 3, W: 2, Replicas: nodes("a", "b", "c")})
	check := func(a, b, cc ReplyKind, enough, done bool) {
		t.Helper()
		got := []ReplyKind{c.Kind("a"), c.Kind("b"), c.Kind("c")}
		if !slices.Equal(got, []ReplyKind{a, b, cc}) || c.Enough() != enough || c.Done() != done {
			t.Fatalf("Kinds %v Enough %v Done %v, want %v %v %v", got, c.Enough(), c.Done(), []ReplyKind{a, b, cc}, enough, done)
		}
	}
	check(0, 0, 0, false, false)
	mustAdd(t, c.Add("b", Acked, nil))
	check(0, Acked, 0, false, false)
	mustAdd(t, c.Add("a", Failed, errDisk))
	check(Failed, Acked, 0, false, false)
	c.Timeout()
	check(Failed, Acked, TimedOut, true, true)
	if c.Kind("stranger") != 0 {
		t.Fatalf("Kind(stranger) = %v", c.Kind("stranger"))
	}
	if _, err := c.Result(); err == nil {
		t.Fatal("1 ack of W=2 after Timeout succeeded")
	}
}

func TestPutTimeoutBeforeAnyReply(t *testing.T) {
	c := mustPut(t, PutConfig{N: 2, W: 1, Replicas: nodes("a", "b")})
	c.Timeout()
	if !c.Enough() || !c.Done() {
		t.Fatalf("after Timeout: Enough %v Done %v", c.Enough(), c.Done())
	}
	_, err := c.Result()
	var qe *Error
	if !errors.As(err, &qe) || err.Error() != "write quorum: 0 of 1 replicas acked (2 asked: 2 timed out)" {
		t.Fatalf("Result() = %v", err)
	}
	want := []Cause{{Node: "a", Kind: TimedOut}, {Node: "b", Kind: TimedOut}}
	if !slices.Equal(qe.Causes, want) {
		t.Fatalf("Causes = %v, want %v", qe.Causes, want)
	}
}
