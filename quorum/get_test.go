package quorum

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// getStep is one event fed to a GetCore: a reply, or the deadline.
type getStep struct {
	node    Node
	kind    ReplyKind
	val     vset
	timeout bool
	enough  bool // Enough() after the step
}

func reply(node Node, kind ReplyKind, enough bool) getStep {
	return getStep{node: node, kind: kind, enough: enough}
}

func found(node Node, val vset, enough bool) getStep {
	return getStep{node: node, kind: Found, val: val, enough: enough}
}

func timeout() getStep { return getStep{timeout: true, enough: true} }

var errDisk = errors.New("disk full")

func runGet(t *testing.T, c *GetCore[vset], steps []getStep) {
	t.Helper()
	for i, s := range steps {
		if s.timeout {
			c.Timeout()
		} else {
			var err error
			if s.kind == Failed {
				err = errDisk
			}
			if aerr := c.Add(s.node, s.kind, s.val, err); aerr != nil {
				t.Fatalf("step %d: Add(%s, %v): %v", i, s.node, s.kind, aerr)
			}
		}
		if got := c.Enough(); got != s.enough {
			t.Fatalf("step %d (%s %v timeout=%v): Enough() = %v, want %v", i, s.node, s.kind, s.timeout, got, s.enough)
		}
	}
}

func TestGetScenarios(t *testing.T) {
	abc := nodes("a", "b", "c")
	tests := []struct {
		name        string
		r           int
		nfOK, basic bool
		replicas    []Node // abc when nil
		steps       []getStep
		found       bool
		value       vset
		replied     int
		err         string // exact *Error message; "" for success
		repair      []Node // after the steps
	}{
		{
			name: "two found merge", r: 2, nfOK: true,
			steps: []getStep{found("a", vset{"x": 1}, false), found("b", vset{"x": 2, "y": 1}, true)},
			found: true, value: vset{"x": 2, "y": 1}, replied: 2, repair: nodes("a"),
		},
		{
			name: "found and not found: found wins", r: 2, nfOK: true,
			steps: []getStep{found("a", vset{"x": 1}, false), reply("b", NotFound, true)},
			found: true, value: vset{"x": 1}, replied: 2, repair: nodes("b"),
		},
		{
			name: "not found counts toward r", r: 2, nfOK: true,
			steps:   []getStep{reply("a", NotFound, false), reply("b", NotFound, true)},
			replied: 2,
		},
		{
			name: "r=1 not found answers at once", r: 1, nfOK: true,
			steps:   []getStep{reply("b", NotFound, true), found("a", vset{"x": 1}, true)},
			replied: 1, repair: nodes("b"),
		},
		{
			name: "notfound not ok: wait for found", r: 1,
			steps: []getStep{reply("a", NotFound, false), reply("b", NotFound, false), found("c", vset{"x": 1}, true)},
			found: true, value: vset{"x": 1}, replied: 3, repair: nodes("a", "b"),
		},
		{
			name: "notfound not ok: all not found is not found, not an error", r: 2,
			steps:   []getStep{reply("a", NotFound, false), reply("b", NotFound, true), reply("c", NotFound, true)},
			replied: 2,
		},
		{
			name: "notfound not ok: one found is not r=2", r: 2,
			steps:  []getStep{reply("a", NotFound, false), found("b", vset{"x": 1}, false), reply("c", NotFound, true)},
			err:    "read quorum: 1 of 2 replicas answered (3 asked: 2 not found)",
			repair: nodes("a", "c"),
		},
		{
			name: "notfound not ok: not found then failure is an error", r: 2,
			steps: []getStep{reply("a", NotFound, false), reply("b", Failed, true)},
			err:   "read quorum: 0 of 2 replicas answered (3 asked: 1 not found, 1 failed)",
		},
		{
			name: "notfound not ok: not founds and a timeout is an error", r: 1,
			steps: []getStep{reply("a", NotFound, false), reply("b", NotFound, false), timeout()},
			err:   "read quorum: 0 of 1 replicas answered (3 asked: 2 not found, 1 timed out)",
		},
		{
			name: "basic quorum: majority of not founds answers not found", r: 1, basic: true,
			steps:   []getStep{reply("a", NotFound, false), reply("b", NotFound, true), found("c", vset{"x": 1}, true)},
			replied: 2, repair: nodes("a", "b"),
		},
		{
			name: "basic quorum: found before the majority", r: 1, basic: true,
			steps: []getStep{reply("a", NotFound, false), found("b", vset{"x": 1}, true)},
			found: true, value: vset{"x": 1}, replied: 2, repair: nodes("a"),
		},
		{
			name: "basic quorum: majority of failures gives up early", r: 1, nfOK: true, basic: true,
			steps: []getStep{reply("a", Failed, false), reply("b", TimedOut, true)},
			err:   "read quorum: 0 of 1 replicas answered (3 asked: 1 failed, 1 timed out)",
		},
		{
			name: "no basic quorum: waits while r is reachable", r: 1, nfOK: true,
			steps: []getStep{reply("a", Failed, false), reply("b", TimedOut, false), found("c", vset{"x": 1}, true)},
			found: true, value: vset{"x": 1}, replied: 1,
		},
		{
			name: "failures make r unreachable", r: 2, nfOK: true,
			steps: []getStep{reply("a", Failed, false), reply("b", TimedOut, true)},
			err:   "read quorum: 0 of 2 replicas answered (3 asked: 1 failed, 1 timed out)",
		},
		{
			name: "timeout after one found", r: 2, nfOK: true,
			steps: []getStep{found("a", vset{"x": 1}, false), reply("b", Failed, false), timeout()},
			err:   "read quorum: 1 of 2 replicas answered (3 asked: 1 failed, 1 timed out)",
		},
		{
			name: "timeout with nothing", r: 1, nfOK: true,
			steps: []getStep{timeout()},
			err:   "read quorum: 0 of 1 replicas answered (3 asked: 3 timed out)",
		},
		{
			name: "r=n needs all", r: 3, nfOK: true,
			steps: []getStep{found("c", vset{"x": 1}, false), found("a", vset{"y": 1}, false), found("b", vset{"x": 1, "y": 1}, true)},
			found: true, value: vset{"x": 1, "y": 1}, replied: 3, repair: nodes("a", "c"),
		},
		{
			name: "r=n fails on first failure", r: 3, nfOK: true,
			steps: []getStep{found("c", vset{"x": 1}, false), reply("a", Failed, true)},
			err:   "read quorum: 1 of 3 replicas answered (3 asked: 1 failed)",
		},
		{
			name: "fallbacks beyond n: failures of two of four", r: 2, nfOK: true,
			replicas: nodes("a", "b", "c", "d"),
			steps: []getStep{reply("a", Failed, false), reply("b", Failed, false),
				found("d", vset{"x": 1}, false), reply("c", NotFound, true)},
			found: true, value: vset{"x": 1}, replied: 2, repair: nodes("c"),
		},
		{
			name: "fewer replicas than n", r: 2, nfOK: true,
			replicas: nodes("a", "b"),
			steps:    []getStep{found("a", vset{"x": 1}, false), reply("b", TimedOut, true)},
			err:      "read quorum: 1 of 2 replicas answered (2 asked: 1 timed out)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replicas := tt.replicas
			if replicas == nil {
				replicas = abc
			}
			c := mustGet(t, GetConfig[vset]{N: 3, R: tt.r, NotFoundOK: tt.nfOK, BasicQuorum: tt.basic, Replicas: replicas})
			runGet(t, c, tt.steps)
			res, err := c.Result()
			if tt.err != "" {
				if err == nil {
					t.Fatalf("Result() = %+v, nil; want error %q", res, tt.err)
				}
				if err.Error() != tt.err {
					t.Errorf("Result() error = %q, want %q", err, tt.err)
				}
				var qe *Error
				if !errors.As(err, &qe) || !errors.Is(err, ErrQuorum) {
					t.Errorf("Result() error %v is not a *Error wrapping ErrQuorum", err)
				}
				if res.Found || res.Value != nil {
					t.Errorf("Result() with error also returned %+v", res)
				}
			} else {
				if err != nil {
					t.Fatalf("Result() error = %v, want success", err)
				}
				if res.Found != tt.found || res.Value.String() != tt.value.String() || res.Replied != tt.replied {
					t.Errorf("Result() = {Found:%v Value:%v Replied:%d}, want {Found:%v Value:%v Replied:%d}",
						res.Found, res.Value, res.Replied, tt.found, tt.value, tt.replied)
				}
				if res.Asked != len(replicas) {
					t.Errorf("Result().Asked = %d, want %d", res.Asked, len(replicas))
				}
				if res.FoundReplies+res.NotFoundReplies != res.Replied {
					t.Errorf("Result() = %+v: FoundReplies+NotFoundReplies != Replied", res)
				}
			}
			if got := c.RepairTargets(); !slices.Equal(got, tt.repair) {
				t.Errorf("RepairTargets() = %v, want %v", got, tt.repair)
			}
		})
	}
}

func TestGetNotFoundOKDefaultIsFalse(t *testing.T) {
	// The Go zero value of NotFoundOK is false: a not-found does not count.
	c := mustGet(t, GetConfig[vset]{N: 3, R: 1, Replicas: nodes("a", "b", "c")})
	mustAdd(t, c.Add("a", NotFound, nil, nil))
	if c.Enough() {
		t.Fatal("with NotFoundOK unset, one not-found satisfied r=1")
	}
}

func TestGetAddMisuse(t *testing.T) {
	c := mustGet(t, GetConfig[vset]{N: 3, R: 2, NotFoundOK: true, Replicas: nodes("a", "b", "c")})
	mustAdd(t, c.Add("a", Found, vset{"x": 1}, nil))

	tests := []struct {
		node     Node
		kind     ReplyKind
		sentinel error
		msg      string
	}{
		{"a", Found, ErrDuplicate, "quorum: duplicate reply: a already replied Found"},
		{"a", NotFound, ErrDuplicate, "quorum: duplicate reply: a already replied Found"},
		{"a", Failed, ErrDuplicate, "quorum: duplicate reply: a already replied Found"},
		{"z", Found, ErrUnknownNode, "quorum: reply from a node that was not asked: z"},
		{"", NotFound, ErrUnknownNode, "quorum: reply from a node that was not asked: "},
		{"b", Acked, ErrInvalid, "quorum: reply kind Acked from b is not a read reply"},
		{"b", 0, ErrInvalid, "quorum: reply kind ReplyKind(0) from b is not a read reply"},
		{"b", 42, ErrInvalid, "quorum: reply kind ReplyKind(42) from b is not a read reply"},
	}
	for _, tt := range tests {
		err := c.Add(tt.node, tt.kind, vset{"x": 9}, nil)
		if !errors.Is(err, tt.sentinel) {
			t.Errorf("Add(%q, %v) = %v, want %v", tt.node, tt.kind, err, tt.sentinel)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("Add(%q, %v) = %q, want %q", tt.node, tt.kind, err, tt.msg)
		}
	}
	// None of the rejected replies changed the core.
	if c.Enough() || c.Done() {
		t.Fatalf("rejected replies changed the core: Enough %v, Done %v", c.Enough(), c.Done())
	}
	if m, ok := c.Merged(); !ok || m.String() != "{x:1}" {
		t.Fatalf("rejected duplicate changed Merged to %v, %v", m, ok)
	}
	if got := c.RepairTargets(); len(got) != 0 {
		t.Fatalf("RepairTargets() = %v after rejected replies, want none", got)
	}
	// b can still reply once.
	mustAdd(t, c.Add("b", NotFound, nil, nil))
	if !c.Enough() {
		t.Fatal("b's first reply was not counted")
	}
	if err := c.Add("b", Found, vset{"x": 2}, nil); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second reply of b after decision = %v, want ErrDuplicate", err)
	}
}

func TestGetLateReplyAfterTimeout(t *testing.T) {
	c := mustGet(t, GetConfig[vset]{N: 3, R: 1, NotFoundOK: true, Replicas: nodes("a", "b", "c")})
	mustAdd(t, c.Add("a", Found, vset{"x": 1}, nil))
	c.Timeout()
	err := c.Add("b", Found, vset{"x": 2}, nil)
	if !errors.Is(err, ErrDuplicate) || err.Error() != "quorum: duplicate reply: b already replied TimedOut" {
		t.Fatalf("late reply after Timeout = %v, want duplicate of TimedOut", err)
	}
	if m, _ := c.Merged(); m.String() != "{x:1}" {
		t.Fatalf("late reply changed Merged to %v", m)
	}
}

func TestGetDecisionIsFixed(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		c := mustGet(t, GetConfig[vset]{N: 3, R: 1, NotFoundOK: true, Replicas: nodes("a", "b", "c")})
		first := vset{"x": 1}
		mustAdd(t, c.Add("a", Found, first, nil))
		mustAdd(t, c.Add("b", Found, vset{"x": 5, "y": 1}, nil))
		mustAdd(t, c.Add("c", Failed, nil, errDisk))
		res, err := c.Result()
		if err != nil || !res.Found || res.Value.String() != "{x:1}" || res.Replied != 1 || res.FoundReplies != 1 {
			t.Fatalf("Result() = %+v, %v; want the answer at the first reply", res, err)
		}
		if first.String() != "{x:1}" {
			t.Fatalf("the core modified a reply value: %v", first)
		}
		if m, ok := c.Merged(); !ok || m.String() != "{x:5 y:1}" {
			t.Fatalf("Merged() = %v, %v; want every found reply merged", m, ok)
		}
		if got := c.RepairTargets(); !slices.Equal(got, nodes("a")) {
			t.Fatalf("RepairTargets() = %v, want [a]", got)
		}
	})
	t.Run("failure", func(t *testing.T) {
		c := mustGet(t, GetConfig[vset]{N: 3, R: 2, NotFoundOK: true, Replicas: nodes("a", "b", "c")})
		mustAdd(t, c.Add("a", Failed, nil, errDisk))
		mustAdd(t, c.Add("b", TimedOut, nil, nil))
		_, err1 := c.Result()
		mustAdd(t, c.Add("c", Found, vset{"x": 1}, nil))
		_, err2 := c.Result()
		if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
			t.Fatalf("Result() changed after the decision: %v then %v", err1, err2)
		}
		var qe *Error
		if !errors.As(err2, &qe) || qe.Got != 0 || len(qe.Causes) != 2 {
			t.Fatalf("error after decision = %#v, want Got 0 and 2 causes as decided", err2)
		}
		if m, ok := c.Merged(); !ok || m.String() != "{x:1}" {
			t.Fatalf("late found reply not recorded in Merged: %v, %v", m, ok)
		}
	})
	t.Run("not found", func(t *testing.T) {
		c := mustGet(t, GetConfig[vset]{N: 3, R: 2, NotFoundOK: true, Replicas: nodes("a", "b", "c")})
		mustAdd(t, c.Add("a", NotFound, nil, nil))
		mustAdd(t, c.Add("b", NotFound, nil, nil))
		mustAdd(t, c.Add("c", Found, vset{"x": 1}, nil))
		res, err := c.Result()
		if err != nil || res.Found || res.Value != nil {
			t.Fatalf("Result() = %+v, %v; want not found as decided", res, err)
		}
		if got := c.RepairTargets(); !slices.Equal(got, nodes("a", "b")) {
			t.Fatalf("RepairTargets() = %v, want [a b]", got)
		}
	})
}

func TestGetResultPending(t *testing.T) {
	c := mustGet(t, GetConfig[vset]{N: 3, R: 2, NotFoundOK: true, Replicas: nodes("a", "b", "c")})
	if _, err := c.Result(); err != ErrPending {
		t.Fatalf("Result() before any reply = %v, want ErrPending", err)
	}
	mustAdd(t, c.Add("a", Found, vset{"x": 1}, nil))
	if _, err := c.Result(); err != ErrPending {
		t.Fatalf("Result() before quorum = %v, want ErrPending", err)
	}
	if errors.Is(ErrPending, ErrQuorum) {
		t.Fatal("ErrPending must not look like a quorum failure")
	}
}

func TestGetTimeout(t *testing.T) {
	t.Run("outstanding become timed out", func(t *testing.T) {
		c := mustGet(t, GetConfig[vset]{N: 3, R: 2, NotFoundOK: true, Replicas: nodes("a", "b", "c")})
		mustAdd(t, c.Add("b", Failed, nil, errDisk))
		if c.Done() {
			t.Fatal("Done() before every replica replied")
		}
		c.Timeout()
		if !c.Done() || !c.Enough() || c.Kind("a") != TimedOut || c.Kind("b") != Failed {
			t.Fatalf("after Timeout: Done %v Enough %v, a %v, b %v", c.Done(), c.Enough(), c.Kind("a"), c.Kind("b"))
		}
		_, err := c.Result()
		var qe *Error
		if !errors.As(err, &qe) {
			t.Fatalf("Result() = %v, want *Error", err)
		}
		want := []Cause{{Node: "a", Kind: TimedOut}, {Node: "b", Kind: Failed, Err: errDisk}, {Node: "c", Kind: TimedOut}}
		if !slices.Equal(qe.Causes, want) {
			t.Errorf("Causes = %v, want %v", qe.Causes, want)
		}
		if qe.Failed != 1 || qe.TimedOut != 2 || qe.Asked != 3 || qe.Need != 2 || qe.Got != 0 {
			t.Errorf("error = %+v", qe)
		}
	})
	t.Run("after decision keeps answer", func(t *testing.T) {
		c := mustGet(t, GetConfig[vset]{N: 3, R: 1, NotFoundOK: true, Replicas: nodes("a", "b", "c")})
		mustAdd(t, c.Add("a", Found, vset{"x": 1}, nil))
		mustAdd(t, c.Add("b", NotFound, nil, nil))
		if !c.Enough() || c.Done() {
			t.Fatalf("Enough %v Done %v, want decided and waiting", c.Enough(), c.Done())
		}
		c.Timeout()
		c.Timeout() // idempotent
		res, err := c.Result()
		if err != nil || !res.Found || res.Value.String() != "{x:1}" {
			t.Fatalf("Result() after Timeout = %+v, %v", res, err)
		}
		if !c.Done() || c.Kind("c") != TimedOut {
			t.Fatalf("Done %v, c %v after Timeout", c.Done(), c.Kind("c"))
		}
		// c timed out: unknown state, not repaired; b said not found.
		if got := c.RepairTargets(); !slices.Equal(got, nodes("b")) {
			t.Fatalf("RepairTargets() = %v, want [b]", got)
		}
	})
	t.Run("timed out reply via Add keeps its error", func(t *testing.T) {
		c := mustGet(t, GetConfig[vset]{N: 1, R: 1, NotFoundOK: true, Replicas: nodes("a")})
		dropped := errors.New("connection reset")
		mustAdd(t, c.Add("a", TimedOut, nil, dropped))
		_, err := c.Result()
		var qe *Error
		if !errors.As(err, &qe) || len(qe.Causes) != 1 || qe.Causes[0].Err != dropped {
			t.Fatalf("Result() = %#v, want the connection error as cause", err)
		}
	})
}

func TestGetRepairTargets(t *testing.T) {
	tests := []struct {
		name    string
		replies map[Node]getStep
		merged  string // "" when no found reply
		want    []Node
	}{
		{
			name: "stale, not found and failures",
			replies: map[Node]getStep{
				"a": found("a", vset{"x": 2, "y": 1}, false), // up to date
				"b": found("b", vset{"x": 1}, false),         // stale
				"c": reply("c", NotFound, false),             // missing
				"d": reply("d", Failed, false),               // unknown
				"e": reply("e", TimedOut, false),             // unknown
			},
			merged: "{x:2 y:1}", want: nodes("b", "c"),
		},
		{
			name: "siblings both behind the merge",
			replies: map[Node]getStep{
				"a": found("a", vset{"x": 1}, false),
				"b": found("b", vset{"y": 1}, false),
				"c": found("c", vset{"x": 1, "y": 1}, false),
				"d": found("d", vset{"x": 1, "y": 1}, false),
				"e": found("e", vset{"y": 1}, false),
			},
			merged: "{x:1 y:1}", want: nodes("a", "b", "e"),
		},
		{
			name: "all up to date",
			replies: map[Node]getStep{
				"a": found("a", vset{"x": 1}, false), "b": found("b", vset{"x": 1}, false),
				"c": found("c", vset{"x": 1}, false), "d": reply("d", Failed, false),
				"e": found("e", vset{"x": 1}, false),
			},
			merged: "{x:1}", want: nil,
		},
		{
			name: "nothing found: nothing to write back",
			replies: map[Node]getStep{
				"a": reply("a", NotFound, false), "b": reply("b", NotFound, false),
				"c": reply("c", Failed, false), "d": reply("d", NotFound, false),
				"e": reply("e", TimedOut, false),
			},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replicas := nodes("a", "b", "c", "d", "e")
			// Feed the replies in reverse order: the targets still follow
			// the order of Replicas.
			reversed := slices.Clone(replicas)
			slices.Reverse(reversed)
			for _, order := range [][]Node{replicas, reversed} {
				c := mustGet(t, GetConfig[vset]{N: 5, R: 1, NotFoundOK: true, Replicas: replicas})
				for _, n := range order {
					s := tt.replies[n]
					mustAdd(t, c.Add(n, s.kind, s.val, nil))
				}
				if !c.Done() {
					t.Fatal("not Done after every reply")
				}
				m, ok := c.Merged()
				if ok != (tt.merged != "") || (ok && m.String() != tt.merged) {
					t.Errorf("order %v: Merged() = %v, %v; want %q", order, m, ok, tt.merged)
				}
				if got := c.RepairTargets(); !slices.Equal(got, tt.want) {
					t.Errorf("order %v: RepairTargets() = %v, want %v", order, got, tt.want)
				}
			}
		})
	}
}

func TestGetRepairTargetsOnDemand(t *testing.T) {
	c := mustGet(t, GetConfig[vset]{N: 3, R: 1, NotFoundOK: true, Replicas: nodes("a", "b", "c")})
	if got := c.RepairTargets(); got != nil {
		t.Fatalf("RepairTargets() before replies = %v", got)
	}
	mustAdd(t, c.Add("c", Found, vset{"x": 1}, nil))
	if got := c.RepairTargets(); got != nil {
		t.Fatalf("RepairTargets() = %v, want none", got)
	}
	mustAdd(t, c.Add("a", Found, vset{"x": 2}, nil))
	if got := c.RepairTargets(); !slices.Equal(got, nodes("c")) {
		t.Fatalf("RepairTargets() = %v, want [c]", got)
	}
}

func TestGetKind(t *testing.T) {
	c := mustGet(t, GetConfig[vset]{N: 4, R: 2, NotFoundOK: true, Replicas: nodes("a", "b", "c", "d")})
	want := func(kinds ...ReplyKind) {
		t.Helper()
		for i, n := range nodes("a", "b", "c", "d") {
			if got := c.Kind(n); got != kinds[i] {
				t.Fatalf("Kind(%s) = %v, want %v", n, got, kinds[i])
			}
		}
		if got := c.Kind("stranger"); got != 0 {
			t.Fatalf("Kind(stranger) = %v, want 0", got)
		}
	}
	want(0, 0, 0, 0)
	mustAdd(t, c.Add("a", Found, vset{"x": 1}, nil))
	want(Found, 0, 0, 0)
	mustAdd(t, c.Add("b", Failed, nil, errDisk))
	c.Skip("d")
	want(Found, Failed, 0, NotAsked)
	c.Timeout()
	want(Found, Failed, TimedOut, NotAsked)
}

func TestGetMergeCalls(t *testing.T) {
	// The merge function is used for every found reply and its result is
	// what Result and Merged return.
	calls := 0
	obj := Object[vset]{
		Merge: func(a, b vset) vset {
			calls++
			return mergeVset(a, b)
		},
		Descends: descendsVset,
	}
	c := mustGet(t, GetConfig[vset]{N: 3, R: 3, NotFoundOK: true, Object: obj, Replicas: nodes("a", "b", "c")})
	for i, n := range nodes("a", "b", "c") {
		mustAdd(t, c.Add(n, Found, vset{fmt.Sprint(i): i + 1}, nil))
	}
	res, err := c.Result()
	if err != nil || res.Value.String() != "{0:1 1:2 2:3}" {
		t.Fatalf("Result() = %+v, %v", res, err)
	}
	if calls != 2 {
		t.Fatalf("Merge called %d times for 3 found replies, want 2", calls)
	}
}
