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

// A value with a time to live is certainly live at reads answered before
// its put was sent plus its time to live, certainly expired at reads begun
// after its acknowledged put returned plus it, and either in between.
func TestCheckLivenessBounds(t *testing.T) {
	s := time.Second
	put := RegOp{Value: "v", TTL: 5 * s, Sent: 10 * s, At: 11 * s, Outcome: Acked}
	for _, c := range []struct {
		op   RegOp
		w    [2]time.Duration
		want liveness
	}{
		{put, [2]time.Duration{0, 15*s - 1}, certainlyLive},
		{put, [2]time.Duration{14 * s, 15 * s}, mayHaveExpired},
		{put, [2]time.Duration{16*s - 1, 17 * s}, mayHaveExpired},
		{put, [2]time.Duration{16 * s, 17 * s}, certainlyExpired},
		{RegOp{Value: "v", TTL: 5 * s, Sent: 10 * s, At: 11 * s, Outcome: Failed}, [2]time.Duration{100 * s, 101 * s}, mayHaveExpired},
		{RegOp{Value: "v", TTL: 5 * s, Sent: 10 * s, At: 11 * s, Outcome: Unknown}, [2]time.Duration{0, 14 * s}, certainlyLive},
		{RegOp{Value: "v", Sent: 10 * s, At: 11 * s, Outcome: Acked}, [2]time.Duration{1000 * s, 1001 * s}, certainlyLive},
	} {
		if got := c.op.livenessAt(c.w); got != c.want {
			t.Errorf("%+v at %v: %v, want %v", c.op, c.w, got, c.want)
		}
	}
}

// Expiry in the register checker: a value certainly expired at the final
// reads must be in none ("expired value came back"), one certainly live
// is checked as any value (lost if missing), one whose expiry may fall
// near the reads may be anywhere, readers included; a sibling without a
// time to live survives its expired sibling; every expiry read through
// the cluster must be its put's.
func TestCheckRegistersExpiry(t *testing.T) {
	s, ms := time.Second, time.Millisecond
	ops := []RegOp{
		// t1 expires; t2, a blind put beside it, must survive it.
		{Key: "t", Seq: 0, Value: "t1", TTL: s, Sent: 10 * s, At: 10*s + 100*ms, Outcome: Acked, Context: "none"},
		{Key: "t", Seq: 1, Value: "t2", Sent: 10*s + 200*ms, At: 10*s + 300*ms, Outcome: Acked, Context: "none", Blind: true},
		// z1 lives an hour beside z2, a blind put; the delete on z2's
		// context leaves it.
		{Key: "z", Seq: 0, Value: "z1", TTL: time.Hour, Sent: 50 * s, At: 50*s + 100*ms, Outcome: Acked, Context: "read"},
		{Key: "z", Seq: 1, Value: "z2", Sent: 51 * s, At: 51*s + 100*ms, Outcome: Acked, Context: "none", Blind: true},
		{Key: "z", Seq: 2, Delete: true, Sent: 52 * s, At: 52*s + 100*ms, Outcome: Acked, Covers: []string{"z2"}, Context: "own"},
		// u1 lives an hour.
		{Key: "u", Seq: 0, Value: "u1", TTL: time.Hour, Sent: 20 * s, At: 20*s + 100*ms, Outcome: Acked, Context: "none"},
		// w1 may expire around the reads (99.5 s to 100.5 s).
		{Key: "w", Seq: 0, Value: "w1", TTL: 90 * s, Sent: 9*s + 500*ms, At: 10*s + 500*ms, Outcome: Acked, Context: "none"},
		// x1 failed: its coordinator may have prepared it at any time.
		{Key: "x", Seq: 0, Value: "x1", TTL: s, Sent: 30 * s, At: 32 * s, Outcome: Failed, Context: "none"},
		// y1 expired and was superseded.
		{Key: "y", Seq: 0, Value: "y1", TTL: s, Sent: 40 * s, At: 40*s + 100*ms, Outcome: Acked, Context: "none"},
		{Key: "y", Seq: 1, Value: "y2", Sent: 41 * s, At: 41*s + 100*ms, Outcome: Acked, Covers: []string{"y1"}, Context: "own"},
	}
	type read struct {
		n1, all []string
		exps    []time.Duration // of all (R=3)
	}
	final := func(windows bool, rs map[string]read) Final {
		f := Final{Registers: map[string]map[string][]string{}, Expires: map[string]map[string][]time.Duration{}, Windows: map[string][2]time.Duration{}}
		for k, r := range rs {
			f.Registers[k] = map[string][]string{"n1": r.n1, "R=3": r.all}
			f.Expires[k] = map[string][]time.Duration{"R=3": r.exps}
			if windows {
				f.Windows[k] = [2]time.Duration{100 * s, 101 * s}
			}
		}
		return f
	}
	good := func() map[string]read {
		return map[string]read{
			"t": {[]string{"t2"}, []string{"t2"}, []time.Duration{0}},
			"u": {[]string{"u1"}, []string{"u1"}, []time.Duration{time.Hour + 20*s + 50*ms}},
			"w": {[]string{"w1"}, nil, nil}, // readers may differ on it
			"x": {[]string{"x1"}, []string{"x1"}, []time.Duration{150 * s}},
			"y": {[]string{"y2"}, []string{"y2"}, []time.Duration{0}},
			"z": {[]string{"z1"}, []string{"z1"}, []time.Duration{time.Hour + 50*s + 50*ms}},
		}
	}
	res := CheckRegisters(ops, nil, final(true, good()))
	if !res.OK() || res.Expiry != (ExpiryFigures{Puts: 6, Acked: 5, CheckedExpired: 2, CheckedLive: 2, Undecided: 1}) || res.ExpiriesChecked != 5 || len(res.StaleSurvivors) != 0 ||
		*res.ExpiryByFamily["t"] != (ExpiryFigures{Puts: 1, Acked: 1, CheckedExpired: 1}) {
		t.Fatalf("a clean history: %+v", res)
	}
	bad := func(name string, change func(map[string]read), check func(RegisterResult) bool) {
		t.Helper()
		rs := good()
		change(rs)
		res := CheckRegisters(ops, nil, final(true, rs))
		if res.OK() || !check(res) {
			t.Errorf("%s: %+v", name, res)
		}
	}
	has := func(list []string, prefix, sub string) bool {
		return len(list) == 1 && strings.HasPrefix(list[0], prefix) && strings.Contains(list[0], sub)
	}
	bad("expired value back", func(rs map[string]read) { rs["t"] = read{[]string{"t1", "t2"}, []string{"t2"}, []time.Duration{0}} },
		func(r RegisterResult) bool { return has(r.Expired, "t/t1 (", "certainly expired by 11.1s") })
	bad("expired and superseded value back", func(rs map[string]read) {
		rs["y"] = read{[]string{"y2"}, []string{"y1", "y2"}, []time.Duration{41 * s, 0}}
	},
		func(r RegisterResult) bool {
			return has(r.Expired, "y/y1 (", "also superseded") && len(r.Resurrected) == 0
		})
	bad("returned after its own expiry", func(rs map[string]read) { rs["x"] = read{nil, []string{"x1"}, []time.Duration{31 * s}} },
		func(r RegisterResult) bool { return has(r.Expired, "x/x1 (", "after the expiry the read gave it") })
	bad("sibling without a time to live lost", func(rs map[string]read) { rs["t"] = read{nil, nil, nil} },
		func(r RegisterResult) bool { return has(r.Lost, "t/t2 (", "missing through R=3, n1") })
	bad("live value lost beside a blind put", func(rs map[string]read) { rs["z"] = read{nil, nil, nil} },
		func(r RegisterResult) bool { return has(r.Lost, "z/z1 (", "missing through R=3, n1") })
	bad("live value lost", func(rs map[string]read) { rs["u"] = read{[]string{"u1"}, nil, nil} },
		func(r RegisterResult) bool { return has(r.Lost, "u/u1 (", "certainly live") })
	bad("expiry lost", func(rs map[string]read) { rs["u"] = read{[]string{"u1"}, []string{"u1"}, []time.Duration{0}} },
		func(r RegisterResult) bool { return has(r.WrongExpiry, "u/u1 (", "R=3 with no expiry") })
	bad("expiry too late", func(rs map[string]read) {
		rs["u"] = read{[]string{"u1"}, []string{"u1"}, []time.Duration{time.Hour + 20*s + 200*ms}}
	}, func(r RegisterResult) bool { return has(r.WrongExpiry, "u/u1 (", "expiry due in [1h0m20s, 1h0m20.1s]") })
	bad("expiry on a value without one", func(rs map[string]read) { rs["t"] = read{[]string{"t2"}, []string{"t2"}, []time.Duration{time.Hour}} },
		func(r RegisterResult) bool { return has(r.WrongExpiry, "t/t2 (", "put without a time to live") })
	// Readers may differ on x1 too: failed, it may expire at any time.
	rs := good()
	rs["x"] = read{nil, []string{"x1"}, []time.Duration{150 * s}}
	if res := CheckRegisters(ops, nil, final(true, rs)); !res.OK() {
		t.Fatalf("readers differ on a failed put's value with a time to live: %+v", res)
	}
	// Without the reads' times nothing about expiry is certain: t1 may be
	// back, u1 may be gone.
	rs = good()
	rs["t"] = read{[]string{"t1", "t2"}, []string{"t1", "t2"}, []time.Duration{11*s + 50*ms, 0}}
	rs["u"] = read{nil, nil, nil}
	if res := CheckRegisters(ops, nil, final(false, rs)); !res.OK() || res.Expiry.CheckedExpired != 0 || res.Expiry.CheckedLive != 0 || res.Expiry.Undecided != 5 ||
		len(res.StaleSurvivors) != 0 { // a blind put follows nothing

		t.Fatalf("reads of unknown times: %+v", res)
	}
}
