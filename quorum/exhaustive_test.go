package quorum

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// silent is a test-only reply kind: the replica never replies and is timed
// out by Timeout at the end of the run.
const silent ReplyKind = -1

// exhaustiveValues are the values replica i returns when it answers Found:
// some descend others, some are concurrent, so merges and repairs vary.
var exhaustiveValues = []vset{
	{"a": 1},
	{"a": 2},
	{"a": 1, "b": 1},
	{"b": 2},
	{"a": 2, "b": 2},
}

// assignments calls f with every assignment of kinds to n replicas.
func assignments(n int, kinds []ReplyKind, f func([]ReplyKind)) {
	cur := make([]ReplyKind, n)
	var rec func(i int)
	rec = func(i int) {
		if i == n {
			f(cur)
			return
		}
		for _, k := range kinds {
			cur[i] = k
			rec(i + 1)
		}
	}
	rec(0)
}

// permutations returns every order of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for pos := 0; pos <= len(p); pos++ {
			q := slices.Insert(slices.Clone(p), pos, n-1)
			out = append(out, q)
		}
	}
	return out
}

// orders returns the reply orders tried for n replicas: every permutation
// up to 3 replicas, and for more a handful (identity, reverse, rotations,
// interleavings).
func orders(n int) [][]int {
	if n <= 3 {
		return permutations(n)
	}
	id := make([]int, n)
	for i := range id {
		id[i] = i
	}
	rev := slices.Clone(id)
	slices.Reverse(rev)
	rot := func(k int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = (i + k) % n
		}
		return out
	}
	evensFirst := []int{}
	for i := 0; i < n; i += 2 {
		evensFirst = append(evensFirst, i)
	}
	for i := 1; i < n; i += 2 {
		evensFirst = append(evensFirst, i)
	}
	mixed := []int{2, 0, 3, 1}
	if n == 5 {
		mixed = []int{2, 4, 0, 3, 1}
	}
	return [][]int{id, rev, evensFirst, rot(1), rot(2), mixed}
}

// ---- read oracle ----------------------------------------------------------

// getOutcome is the oracle's idea of a decided read.
type getOutcome struct {
	decided bool
	// success:
	found   bool
	value   string // canonical vset
	replied int
	// failure (ok=false): counts of the error
	failed                       bool
	got, notFound, fail, timeout int
	causes                       string
}

// getOracle decides a read from the replies seen so far, by counting. It is
// written independently of the core: it asks "can R still be reached?"
// rather than comparing with a threshold.
// replies[i] is replica i's reply, 0 while it has none.
func getOracle(asked, r int, nfOK, basic bool, replies []ReplyKind) getOutcome {
	var nFound, nNotFound, nFail, nTimeout int
	for _, k := range replies {
		switch k {
		case Found:
			nFound++
		case NotFound:
			nNotFound++
		case Failed:
			nFail++
		case TimedOut:
			nTimeout++
		}
	}
	ok := nFound
	if nfOK {
		ok += nNotFound
	}
	nReplies := nFound + nNotFound + nFail + nTimeout
	outstanding := asked - nReplies
	bad := nReplies - ok // replies that do not count toward R
	merged := func() (string, bool) {
		var m vset
		for i, k := range replies {
			if k != Found {
				continue
			}
			if m == nil {
				m = vset{}
			}
			for key, v := range exhaustiveValues[i] {
				m[key] = max(m[key], v)
			}
		}
		return m.String(), m != nil
	}
	switch {
	case ok >= r:
		v, f := merged()
		return getOutcome{decided: true, found: f, value: v, replied: nFound + nNotFound}
	case ok+outstanding < r, basic && 2*bad > asked:
		if nFound == 0 && nFail == 0 && nTimeout == 0 {
			return getOutcome{decided: true, value: "<nil>", replied: nNotFound}
		}
		out := getOutcome{decided: true, failed: true, got: ok, fail: nFail, timeout: nTimeout}
		if !nfOK {
			out.notFound = nNotFound
		}
		var cs []string
		for i, k := range replies {
			if k == Failed || k == TimedOut {
				cs = append(cs, fmt.Sprintf("n%d:%v", i, k))
			}
		}
		out.causes = fmt.Sprint(cs)
		return out
	}
	return getOutcome{}
}

// repairOracle lists the replicas to repair once every reply is in.
func repairOracle(kinds []ReplyKind) []Node {
	var m vset
	for i, k := range kinds {
		if k == Found {
			m = mergeVset(m, exhaustiveValues[i])
		}
	}
	if m == nil {
		return nil
	}
	var out []Node
	for i, k := range kinds {
		stale := false
		if k == Found {
			for key, v := range m {
				if exhaustiveValues[i][key] < v {
					stale = true
				}
			}
		}
		if k == NotFound || stale {
			out = append(out, Node(fmt.Sprintf("n%d", i)))
		}
	}
	return out
}

func (o getOutcome) matches(res GetResult[vset], err error) string {
	if o.failed {
		var qe *Error
		if !errors.As(err, &qe) || !errors.Is(err, ErrQuorum) {
			return fmt.Sprintf("want *Error, got %+v, %v", res, err)
		}
		var cs []string
		for _, c := range qe.Causes {
			cs = append(cs, fmt.Sprintf("%s:%v", c.Node, c.Kind))
		}
		if qe.Got != o.got || qe.NotFound != o.notFound || qe.Failed != o.fail || qe.TimedOut != o.timeout || fmt.Sprint(cs) != o.causes {
			return fmt.Sprintf("error %+v (causes %v), want got=%d notFound=%d failed=%d timedOut=%d causes %s",
				qe, cs, o.got, o.notFound, o.fail, o.timeout, o.causes)
		}
		return ""
	}
	if err != nil {
		return fmt.Sprintf("want success, got %v", err)
	}
	if res.Found != o.found || res.Value.String() != o.value || res.Replied != o.replied {
		return fmt.Sprintf("result {Found:%v Value:%v Replied:%d}, want {Found:%v Value:%v Replied:%d}",
			res.Found, res.Value, res.Replied, o.found, o.value, o.replied)
	}
	return ""
}

func TestGetExhaustive(t *testing.T) {
	kinds := []ReplyKind{Found, NotFound, Failed, TimedOut, silent}
	runs := 0
	for n := 1; n <= 5; n++ {
		replicas := nodeNames(n)
		ords := orders(n)
		if n == 5 {
			ords = [][]int{ords[0], ords[1], ords[len(ords)-1]} // identity, reverse, mixed
		}
		assignments(n, kinds, func(assign []ReplyKind) {
			for r := 1; r <= n; r++ {
				for _, nfOK := range []bool{false, true} {
					for _, basic := range []bool{false, true} {
						for _, ord := range ords {
							runs++
							if msg := runGetExhaustive(replicas, r, nfOK, basic, assign, ord); msg != "" {
								t.Fatalf("n=%d r=%d notfound_ok=%v basic=%v kinds=%v order=%v: %s",
									n, r, nfOK, basic, assign, ord, msg)
							}
						}
					}
				}
			}
		})
	}
	t.Logf("%d runs", runs)
}

func runGetExhaustive(replicas []Node, r int, nfOK, basic bool, assign []ReplyKind, ord []int) string {
	n := len(replicas)
	c, err := NewGetCore(GetConfig[vset]{N: n, R: r, NotFoundOK: nfOK, BasicQuorum: basic, Object: vsetObject, Replicas: replicas})
	if err != nil {
		return err.Error()
	}
	seen := make([]ReplyKind, n) // 0 until the replica replies
	nSeen := 0
	var decidedAt getOutcome
	var first GetResult[vset] // the answer when decided
	var firstErr error
	var step string
	check := func() string {
		justDecided := false
		if !decidedAt.decided {
			decidedAt = getOracle(n, r, nfOK, basic, seen)
			justDecided = decidedAt.decided
		}
		if c.Enough() != decidedAt.decided {
			return fmt.Sprintf("%s: Enough() = %v, oracle %v", step, c.Enough(), decidedAt.decided)
		}
		done := nSeen == n
		if c.Done() != done {
			return fmt.Sprintf("%s: Done() = %v, want %v", step, c.Done(), done)
		}
		for i, k := range seen {
			if c.Kind(replicas[i]) != k {
				return fmt.Sprintf("%s: Kind(%s) = %v, want %v", step, replicas[i], c.Kind(replicas[i]), k)
			}
		}
		res, err := c.Result()
		if !decidedAt.decided {
			if err != ErrPending {
				return fmt.Sprintf("%s: Result() before decision = %+v, %v", step, res, err)
			}
			return ""
		}
		// The answer is checked when it is decided and at the end; in
		// between only that it stays the one decided.
		if justDecided || done {
			if msg := decidedAt.matches(res, err); msg != "" {
				return step + ": " + msg
			}
			first, firstErr = res, err
		} else if err != firstErr || res.Found != first.Found || res.Replied != first.Replied || !sameMap(res.Value, first.Value) {
			return fmt.Sprintf("%s: Result() changed to %+v, %v from %+v, %v", step, res, err, first, firstErr)
		}
		return ""
	}
	step = "start"
	if msg := check(); msg != "" {
		return msg
	}
	step = "reply"
	for _, i := range ord {
		k := assign[i]
		if k == silent {
			continue
		}
		var v vset
		if k == Found {
			v = exhaustiveValues[i]
		}
		if err := c.Add(replicas[i], k, v, nil); err != nil {
			return err.Error()
		}
		seen[i] = k
		nSeen++
		if msg := check(); msg != "" {
			return fmt.Sprintf("after %s %v: %s", replicas[i], k, msg)
		}
	}
	final := slices.Clone(assign)
	if nSeen < n {
		c.Timeout()
		for i, k := range final {
			if k == silent {
				final[i] = TimedOut
				seen[i] = TimedOut
				nSeen++
			}
		}
		step = "after Timeout"
		if msg := check(); msg != "" {
			return msg
		}
	}
	if !c.Enough() {
		return "not decided once every replica replied"
	}
	if got, want := c.RepairTargets(), repairOracle(final); !slices.Equal(got, want) {
		return fmt.Sprintf("RepairTargets() = %v, want %v", got, want)
	}
	return ""
}

// ---- write oracle ---------------------------------------------------------

type putOutcome struct {
	decided      bool
	failed       bool
	kind         Kind
	acked, hints int
	need, got    int
	asked        int
	fail, tout   int
}

// putOracle decides a write by counting acks and what is still possible.
// replies[i] is replica i's reply, 0 while it has none.
func putOracle(n, w int, fallback []bool, replies []ReplyKind) putOutcome {
	var acks, hints, fail, tout, nReplies int
	for i, k := range replies {
		if k != 0 {
			nReplies++
		}
		switch k {
		case Acked:
			acks++
			if fallback[i] {
				hints++
			}
		case Failed:
			fail++
		case TimedOut:
			tout++
		}
	}
	outstanding := n - nReplies
	switch {
	case acks >= w:
		return putOutcome{decided: true, acked: acks, hints: hints, asked: n}
	case acks+outstanding < w:
		return putOutcome{decided: true, failed: true, kind: KindQuorum, need: w, got: acks, asked: n, fail: fail, tout: tout}
	}
	return putOutcome{}
}

func TestPutExhaustive(t *testing.T) {
	kinds := []ReplyKind{Acked, Failed, TimedOut, silent}
	runs := 0
	for n := 1; n <= 5; n++ {
		replicas := nodeNames(n)
		ords := orders(n)
		kinds := kinds
		if n == 5 {
			// Every fallback mask already puts fallbacks at every
			// position of the reply order, so one order suffices; and a
			// TimedOut reply counts as a Failed one does, which smaller
			// n check. This keeps the test fast under -race.
			ords = ords[:1]
			kinds = []ReplyKind{Acked, Failed, silent}
		}
		for mask := 0; mask < 1<<n; mask++ {
			fallback := make([]bool, n)
			fbs := map[Node]Node{}
			for i := range fallback {
				if mask&(1<<i) != 0 {
					fallback[i] = true
					fbs[replicas[i]] = Node(fmt.Sprintf("p%d", i))
				}
			}
			assignments(n, kinds, func(assign []ReplyKind) {
				for w := 1; w <= n; w++ {
					for _, ord := range ords {
						runs++
						if msg := runPutExhaustive(replicas, w, fbs, fallback, assign, ord); msg != "" {
							t.Fatalf("n=%d w=%d fallbacks=%v kinds=%v order=%v: %s",
								n, w, fallback, assign, ord, msg)
						}
					}
				}
			})
		}
	}
	t.Logf("%d runs", runs)
}

func runPutExhaustive(replicas []Node, w int, fbs map[Node]Node, fallback []bool, assign []ReplyKind, ord []int) string {
	n := len(replicas)
	c, err := NewPutCore(PutConfig{N: n, W: w, Replicas: replicas, Fallbacks: fbs})
	if err != nil {
		return err.Error()
	}
	seen := make([]ReplyKind, n) // 0 until the replica replies
	nSeen := 0
	var decidedAt putOutcome
	var step string
	check := func() string {
		if !decidedAt.decided {
			decidedAt = putOracle(n, w, fallback, seen)
		}
		if c.Enough() != decidedAt.decided {
			return fmt.Sprintf("%s: Enough() = %v, oracle %v", step, c.Enough(), decidedAt.decided)
		}
		if c.Done() != (nSeen == n) {
			return fmt.Sprintf("%s: Done() = %v with %d of %d replies", step, c.Done(), nSeen, n)
		}
		for i, k := range seen {
			if c.Kind(replicas[i]) != k {
				return fmt.Sprintf("%s: Kind(%s) = %v, want %v", step, replicas[i], c.Kind(replicas[i]), k)
			}
		}
		res, err := c.Result()
		switch {
		case !decidedAt.decided:
			if err != ErrPending {
				return fmt.Sprintf("%s: Result() before decision = %+v, %v", step, res, err)
			}
		case decidedAt.failed:
			var qe *Error
			if !errors.As(err, &qe) {
				return fmt.Sprintf("%s: Result() = %+v, %v; want *Error", step, res, err)
			}
			if qe.Kind != decidedAt.kind || qe.Need != decidedAt.need || qe.Got != decidedAt.got ||
				qe.Asked != decidedAt.asked || qe.Failed != decidedAt.fail || qe.TimedOut != decidedAt.tout ||
				len(qe.Causes) != decidedAt.fail+decidedAt.tout {
				return fmt.Sprintf("%s: error %+v, oracle %+v", step, qe, decidedAt)
			}
		default:
			want := PutResult{Acked: decidedAt.acked, Hinted: decidedAt.hints, Asked: n}
			if err != nil || res != want {
				return fmt.Sprintf("%s: Result() = %+v, %v; want %+v", step, res, err, want)
			}
		}
		return ""
	}
	step = "start"
	if msg := check(); msg != "" {
		return msg
	}
	step = "reply"
	for _, i := range ord {
		k := assign[i]
		if k == silent {
			continue
		}
		if err := c.Add(replicas[i], k, nil); err != nil {
			return err.Error()
		}
		seen[i] = k
		nSeen++
		if msg := check(); msg != "" {
			return fmt.Sprintf("after %s %v: %s", replicas[i], k, msg)
		}
	}
	if nSeen < n {
		c.Timeout()
		for i, k := range assign {
			if k == silent {
				seen[i] = TimedOut
				nSeen++
			}
		}
		step = "after Timeout"
		if msg := check(); msg != "" {
			return msg
		}
	}
	if !c.Enough() {
		return "not decided once every replica replied"
	}
	return ""
}

// sameMap reports whether a and b are the same map (not just equal).
func sameMap(a, b vset) bool {
	return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
}
