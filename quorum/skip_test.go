package quorum

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestGetSkipMatchesSmallerCore checks Skip against its definition: a core
// over n replicas that heard from the first k and then skipped the rest
// answers (success or not, found, value) and repairs as a core built over
// those k replicas alone; with k < R the read fails.
func TestGetSkipMatchesSmallerCore(t *testing.T) {
	kinds := []ReplyKind{Found, NotFound, Failed, TimedOut}
	compared = 0
	for n := 1; n <= 4; n++ {
		for r := 1; r <= n; r++ {
			for _, nfOK := range []bool{true, false} {
				for _, basic := range []bool{false, true} {
					for k := 0; k <= n; k++ {
						assignments(k, kinds, func(assign []ReplyKind) {
							name := fmt.Sprintf("n=%d r=%d k=%d notfound_ok=%v basic=%v replies=%v", n, r, k, nfOK, basic, assign)
							checkSkip(t, name, n, r, nfOK, basic, assign)
						})
					}
				}
			}
		}
	}
	if compared < 1000 {
		t.Fatalf("only %d cases compared with a smaller core", compared)
	}
	t.Logf("%d cases compared with a smaller core", compared)
}

// compared counts the cases checkSkip compared with a smaller core.
var compared int

func checkSkip(t *testing.T, name string, n, r int, nfOK, basic bool, assign []ReplyKind) {
	t.Helper()
	all := nodeNames(n)
	k := len(assign)
	// add feeds replica i's reply; feed the replies of replicas from..to-1.
	add := func(c *GetCore[vset], i int) {
		var v vset
		var err error
		switch assign[i] {
		case Found:
			v = exhaustiveValues[i]
		case Failed, TimedOut:
			err = errDisk
		}
		if aerr := c.Add(all[i], assign[i], v, err); aerr != nil {
			t.Fatalf("%s: Add: %v", name, aerr)
		}
	}
	feed := func(c *GetCore[vset], from, to int) {
		for i := from; i < to; i++ {
			add(c, i)
		}
	}
	a := mustGet(t, GetConfig[vset]{N: n, R: r, NotFoundOK: nfOK, BasicQuorum: basic, Object: vsetObject, Replicas: all})
	feed(a, 0, k)
	before, beforeErr := a.Result()
	a.Skip(all[k:]...)
	if !a.Done() || !a.Enough() {
		t.Fatalf("%s: after Skip Done %v Enough %v", name, a.Done(), a.Enough())
	}
	ares, aerr := a.Result()
	if !errors.Is(beforeErr, ErrPending) {
		// Decided before Skip: the answer stands.
		if (aerr == nil) != (beforeErr == nil) || ares.Found != before.Found || ares.Value.String() != before.Value.String() {
			t.Fatalf("%s: Skip changed a decided answer: %+v, %v; was %+v, %v", name, ares, aerr, before, beforeErr)
		}
	} else if k < r {
		var qe *Error
		if !errors.As(aerr, &qe) {
			t.Fatalf("%s: fewer replicas heard than R: Result() = %+v, %v; want a quorum error", name, ares, aerr)
		}
	}
	if k < r {
		return
	}
	b := mustGet(t, GetConfig[vset]{N: n, R: r, NotFoundOK: nfOK, BasicQuorum: basic, Object: vsetObject, Replicas: all[:k]})
	feed(b, 0, k-1)
	if b.Enough() {
		// The smaller core decided before its last reply (its threshold is
		// lower): its answer depends on the order, so it is no definition.
		return
	}
	add(b, k-1)
	compared++
	bres, berr := b.Result()
	if (aerr == nil) != (berr == nil) || ares.Found != bres.Found || ares.Value.String() != bres.Value.String() {
		t.Fatalf("%s: after Skip %+v, %v; smaller core %+v, %v", name, ares, aerr, bres, berr)
	}
	if got, want := a.RepairTargets(), b.RepairTargets(); !slices.Equal(got, want) {
		t.Fatalf("%s: RepairTargets %v, smaller core %v", name, got, want)
	}
	if k < n {
		if err := a.Add(all[k], Found, exhaustiveValues[0], nil); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("%s: a reply from a skipped replica: %v, want ErrDuplicate", name, err)
		}
	}
}

// TestGetSkipKeepsADecision: a read decided before Skip keeps its answer.
func TestGetSkipKeepsADecision(t *testing.T) {
	c := mustGet(t, GetConfig[vset]{N: 3, R: 2, NotFoundOK: true, Object: vsetObject, Replicas: nodes("a", "b", "c")})
	mustAdd(t, c.Add("a", Found, vset{"x": 1}, nil))
	mustAdd(t, c.Add("b", Found, vset{"x": 2}, nil))
	if c.Done() || !c.Enough() {
		t.Fatalf("before Skip: Done %v Enough %v", c.Done(), c.Enough())
	}
	c.Skip("a", "b", "c", "stranger")
	res, err := c.Result()
	if err != nil || res.Value.String() != "{x:2}" || res.Asked != 3 {
		// Asked was fixed at the decision: 3 listed, none skipped yet.
		t.Fatalf("Result() = %+v, %v", res, err)
	}
	if !c.Done() || !slices.Equal(c.RepairTargets(), nodes("a")) {
		t.Fatalf("Done %v RepairTargets %v, want [a]", c.Done(), c.RepairTargets())
	}
	c.Timeout() // nothing outstanding: no change
	if _, err := c.Result(); err != nil {
		t.Fatal(err)
	}
}
