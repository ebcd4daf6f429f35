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
		w, pw     int
		replicas  []Node // a b c when nil
		fallbacks map[Node]Node
		steps     []putStep
		acked     int
		hinted    int
		err       string
		kind      string
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
			name: "fallback does not count toward pw", w: 2, pw: 2, fallbacks: map[Node]Node{"c": "d"},
			steps: []putStep{ack("a", false), ack("c", false), ack("b", true)},
			acked: 3, hinted: 1,
		},
		{
			name: "pw unreachable", w: 2, pw: 2, fallbacks: map[Node]Node{"c": "d"},
			steps: []putStep{ack("a", false), ack("c", false), nack("b", Failed, true)},
			err:   "write primary quorum: 1 of 2 primaries acked (2 asked: 1 failed)", kind: KindPrimary,
		},
		{
			name: "pw unreachable before w", w: 1, pw: 1, fallbacks: map[Node]Node{"b": "d", "c": "e"},
			steps: []putStep{ack("b", false), nack("a", TimedOut, true), ack("c", true)},
			err:   "write primary quorum: 0 of 1 primaries acked (1 asked: 1 timed out)", kind: KindPrimary,
		},
		{
			name: "fallback failures do not break pw", w: 1, pw: 1, fallbacks: map[Node]Node{"c": "d"},
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
			name: "both unreachable reports w", w: 3, pw: 1, replicas: nodes("a", "b", "c"), fallbacks: map[Node]Node{"b": "d", "c": "e"},
			steps: []putStep{nack("a", Failed, true)},
			err:   "write quorum: 0 of 3 replicas acked (3 asked: 1 failed)", kind: KindQuorum,
		},
		{
			name: "timeout", w: 2,
			steps: []putStep{ack("b", false), {timeout: true, enough: true}},
			err:   "write quorum: 1 of 2 replicas acked (3 asked: 2 timed out)", kind: KindQuorum,
		},
		{
			name: "timeout with pw met by nobody", w: 1, pw: 1, fallbacks: map[Node]Node{"c": "d"},
			steps: []putStep{ack("c", false), {timeout: true, enough: true}},
			err:   "write primary quorum: 0 of 1 primaries acked (2 asked: 2 timed out)", kind: KindPrimary,
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
			c := mustPut(t, PutConfig{N: 3, W: tt.w, PW: tt.pw, Replicas: replicas, Fallbacks: tt.fallbacks})
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

func TestPutPrimaryErrorCausesArePrimaries(t *testing.T) {
	c := mustPut(t, PutConfig{N: 4, W: 1, PW: 2, Replicas: nodes("a", "b", "c", "d"), Fallbacks: map[Node]Node{"c": "x", "d": "y"}})
	mustAdd(t, c.Add("c", Failed, errDisk))
	mustAdd(t, c.Add("d", TimedOut, nil))
	mustAdd(t, c.Add("a", Failed, errDisk))
	if !c.Enough() {
		t.Fatal("pw=2 of 2 primaries with one failed is not decided")
	}
	_, err := c.Result()
	var qe *Error
	if !errors.As(err, &qe) {
		t.Fatalf("Result() = %v", err)
	}
	if qe.Kind != KindPrimary || qe.Asked != 2 || qe.Failed != 1 || qe.TimedOut != 0 || causeNodes(qe.Causes) != "a:Failed" {
		t.Fatalf("error = %+v, want only primary a as cause", qe)
	}
	if qe.Causes[0].Err != errDisk {
		t.Fatalf("cause error = %v, want %v", qe.Causes[0].Err, errDisk)
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

func TestPutPhaseAndDone(t *testing.T) {
	c := mustPut(t, PutConfig{N: 3, W: 2, Replicas: nodes("a", "b", "c")})
	check := func(p Phase, done bool) {
		t.Helper()
		if c.Phase() != p || c.Done() != done {
			t.Fatalf("Phase() = %v Done() = %v, want %v %v", c.Phase(), c.Done(), p, done)
		}
	}
	check(Execute, false)
	mustAdd(t, c.Add("b", Acked, nil))
	check(WaitQuorum, false)
	mustAdd(t, c.Add("a", Acked, nil))
	check(Finished, false)
	c.Timeout()
	check(Finished, true)
	if res, err := c.Result(); err != nil || res.Acked != 2 {
		t.Fatalf("Timeout after success changed the answer: %+v, %v", res, err)
	}
}

func TestPutTimeoutBeforeAnyReply(t *testing.T) {
	c := mustPut(t, PutConfig{N: 2, W: 1, Replicas: nodes("a", "b")})
	c.Timeout()
	if !c.Enough() || !c.Done() || c.Phase() != Finished {
		t.Fatalf("after Timeout: Enough %v Done %v Phase %v", c.Enough(), c.Done(), c.Phase())
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
