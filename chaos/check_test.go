package chaos

import (
	"strings"
	"testing"
	"time"
)

func add(cart, item string, o Outcome) Add { return Add{Cart: cart, Item: item, Outcome: o} }

func TestCheckFindsLostUnexpectedAndInconsistent(t *testing.T) {
	adds := []Add{
		add("c1", "a", Acked), add("c1", "b", Acked), add("c1", "x", Failed), add("c1", "y", Unknown),
		{Cart: "c2", Item: "d", Outcome: Acked, Kind: Blind},
	}
	good := Final{Reads: map[string]map[string][]string{
		"c1": {"n1": {"a", "b", "x"}, "n2": {"b", "a", "x"}},
		"c2": {"n1": {"d"}, "n2": {"d"}},
	}}
	r := Check(adds, good)
	if !r.OK() || r.Acked != 3 || r.Failed != 1 || r.Unknown != 1 || r.RecoveredFailed != 1 || len(r.NeverRead) != 0 {
		t.Fatalf("a clean history: %+v", r)
	}
	if f := r.ByWorkload[Blind]; f.Attempted != 1 || f.Acked != 1 || f.Lost != 0 {
		t.Fatalf("blind figures %+v", f)
	}
	bad := Final{Reads: map[string]map[string][]string{
		"c1": {"n1": {"a", "zz"}, "n2": {"a", "b"}},
		"c2": {},
	}, Diverged: []string{"c1"}}
	r = Check(adds, bad)
	if r.OK() {
		t.Fatal("a bad history passes")
	}
	if strings.Join(r.Unexpected, ",") != "c1/zz" {
		t.Fatalf("unexpected %v", r.Unexpected)
	}
	lost := strings.Join(r.Lost, ";")
	if !strings.Contains(lost, "c1/b (") || !strings.Contains(lost, "missing through n1)") || !strings.Contains(lost, "c2/d (blind") ||
		!strings.Contains(lost, "cart not read") || strings.Contains(lost, "c1/a") {
		t.Fatalf("lost %v", r.Lost)
	}
	if r.ByWorkload[Blind].Lost != 1 || r.ByWorkload[Merge].Lost != 1 {
		t.Fatalf("lost by workload: merge %+v, blind %+v", r.ByWorkload[Merge], r.ByWorkload[Blind])
	}
	if strings.Join(r.NeverRead, ",") != "c2/d" || len(r.Inconsistent) != 1 || len(r.Diverged) != 1 {
		t.Fatalf("never read %v, inconsistent %v, diverged %v", r.NeverRead, r.Inconsistent, r.Diverged)
	}
}

// The register checker: an acknowledged put must stay unless a later write
// covered it; a value an acknowledged write covered must not come back; a
// write made on a stale read leaves the value it missed, which is reported
// and not a failure.
func TestCheckRegisters(t *testing.T) {
	ops := []RegOp{
		{Key: "r", Seq: 0, Value: "v1", Outcome: Acked, Context: "none"},
		{Key: "r", Seq: 1, Value: "v2", Outcome: Acked, Covers: []string{"v1"}, Context: "own"},
		{Key: "r", Seq: 2, Delete: true, Outcome: Acked, Covers: []string{"v1", "v2"}, Context: "own"},
		{Key: "r", Seq: 3, Value: "v3", Outcome: Acked, Context: "read"},
		{Key: "r", Seq: 4, Value: "v4", Outcome: Failed, Covers: []string{"v3"}, Context: "own"},
		// A stale read (missed v5): the delete after it cannot cover v5.
		{Key: "s", Seq: 0, Value: "v5", Outcome: Acked, Context: "none"},
		{Key: "s", Seq: 1, Delete: true, Outcome: Acked, Context: "read"},
	}
	stale := []StaleRead{{Key: "s", Missed: "v5"}}
	reads := func(r, s []string) Final {
		return Final{Registers: map[string]map[string][]string{"r": {"n1": r, "R=3": r}, "s": {"n1": s, "R=3": s}}}
	}
	// v3 may be gone (v4, failed, covered it), v4 may be there.
	for _, vals := range [][]string{{"v3"}, {"v4"}, {"v3", "v4"}} {
		res := CheckRegisters(ops, stale, reads(vals, []string{"v5"}))
		if !res.OK() || res.Acked != 6 || res.Deletes != 2 || len(res.StaleReads) != 1 {
			t.Fatalf("%v: a clean history: %+v", vals, res)
		}
		if len(res.StaleSurvivors) != 1 || !strings.HasPrefix(res.StaleSurvivors[0], "s/v5 ") {
			t.Fatalf("stale survivors %v", res.StaleSurvivors)
		}
	}
	// v1 back after the acknowledged delete: resurrected.
	res := CheckRegisters(ops, stale, reads([]string{"v1", "v3"}, []string{"v5"}))
	if res.OK() || len(res.Resurrected) != 1 || !strings.HasPrefix(res.Resurrected[0], "r/v1 (") || !strings.Contains(res.Resurrected[0], "superseded by the overwrite") {
		t.Fatalf("resurrection not reported: %+v", res)
	}
	// v5 gone although nothing covered it: lost.
	res = CheckRegisters(ops, stale, reads([]string{"v3"}, nil))
	if res.OK() || len(res.Lost) != 1 || !strings.HasPrefix(res.Lost[0], "s/v5 (") {
		t.Fatalf("loss not reported: %+v", res)
	}
	// Nothing at all in r: v3 may be gone only because v4 covered it, so
	// that is fine; a value nobody wrote is not.
	res = CheckRegisters(ops, stale, reads([]string{"zz"}, []string{"v5"}))
	if res.OK() || len(res.Unexpected) != 1 || res.Unexpected[0] != "r/zz" {
		t.Fatalf("unexpected value not reported: %+v", res)
	}
	// Readers that disagree.
	f := reads([]string{"v3"}, []string{"v5"})
	f.Registers["r"]["n2"] = []string{"v4"}
	if res = CheckRegisters(ops, stale, f); res.OK() || len(res.Inconsistent) != 1 {
		t.Fatalf("inconsistent reads not reported: %+v", res)
	}
}

// A read that answered "not found" for a put W primaries acknowledged is a
// failure unless membership changed between the put and the read; other
// stale reads are not.
func TestMissedAckedReads(t *testing.T) {
	s := func(notFound, primaries bool, putAt, at time.Duration) StaleRead {
		return StaleRead{Key: "k", Missed: "k", NotFound: notFound, PrimaryAcked: primaries, PutAt: putAt, At: at}
	}
	churn := [][2]time.Duration{{10 * time.Second, 20 * time.Second}}
	got := MissedAcked([]StaleRead{
		s(true, true, time.Second, 2*time.Second),     // a failure
		s(true, false, time.Second, 2*time.Second),    // a fallback acked: sloppy quorum may miss it
		s(false, true, time.Second, 2*time.Second),    // an older value, not "not found"
		s(true, true, 9*time.Second, 11*time.Second),  // membership changed in between
		s(true, true, 21*time.Second, 22*time.Second), // after the churn window
	}, churn)
	if len(got) != 2 {
		t.Fatalf("MissedAcked = %v, want the first and the last", got)
	}
	if (RegisterResult{MissedAcked: got}).OK() {
		t.Fatal("a missed acknowledged put does not fail the run")
	}
}
