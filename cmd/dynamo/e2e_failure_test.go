package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/ring"
)

// End-to-end failure tests: hinted handoff across a stopped node and across
// a crash of the hint holders, actor supervision under load, and write
// availability and latency through a SIGKILL and a SIGSTOP.

// fastHints makes hints drain quickly, with anti-entropy off: these tests
// prove that hints alone bring the writes to their owner (anti-entropy
// would repair a lost hint behind their back).
var fastHints = []string{"--hint-interval", "1s", "--hint-rate", "20000", "--no-anti-entropy"}

// ---------------------------------------------------------------------------
// Helpers

// waitFor polls cond every 100 ms until it holds, failing the test after
// timeout with cond's last description of the state.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v; last state: %s", what, timeout, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stats asks the member named node for its counters.
func stats(c *client.Client, node string) (client.NodeStats, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	m, err := c.Status(ctx, node)
	if err != nil {
		return client.NodeStats{}, err
	}
	if m.Node != node {
		return client.NodeStats{}, fmt.Errorf("asked %s, %s answered", node, m.Node)
	}
	return m.Stats, nil
}

// statsLine describes the counters of the named members, for diagnostics.
func statsLine(c *client.Client, names ...string) string {
	var parts []string
	for _, n := range names {
		st, err := stats(c, n)
		if err != nil {
			parts = append(parts, fmt.Sprintf("%s: %v", n, err))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: pending %d delivered %d restarts %d vnodes %d", n, st.HintsPending, st.HintsDelivered, st.Restarts, st.Vnodes))
	}
	return strings.Join(parts, "; ")
}

// pendingSum is the hints pending on the named members (a member that
// does not answer fails the test).
func pendingSum(t *testing.T, c *client.Client, names ...string) uint64 {
	t.Helper()
	var sum uint64
	for _, n := range names {
		st, err := stats(c, n)
		if err != nil {
			t.Fatalf("status of %s: %v", n, err)
		}
		sum += st.HintsPending
	}
	return sum
}

// waitHintsDrained polls the named members until each reports no pending
// hints.
func waitHintsDrained(t *testing.T, c *client.Client, timeout time.Duration, names ...string) time.Duration {
	t.Helper()
	return waitFor(t, timeout, "hints drained on "+strings.Join(names, ", "), func() (bool, string) {
		ok := true
		for _, n := range names {
			st, err := stats(c, n)
			if err != nil || st.HintsPending != 0 {
				ok = false
			}
		}
		return ok, statsLine(c, names...)
	})
}

// runLoad runs writers goroutines that call write(w, i), with w the
// writer and i a sequence number shared by the load, until the returned stop
// is called (stop waits for them; calling it again does nothing). A write
// that fails (returns false) is followed by pause.
func runLoad(writers int, pause time.Duration, write func(w int, i int64) bool) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var seq atomic.Int64
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if !write(w, seq.Add(1)) {
					time.Sleep(pause)
				}
			}
		}()
	}
	return sync.OnceFunc(func() { close(done); wg.Wait() })
}

func keyOf(prefix string, i int) []byte   { return []byte(fmt.Sprintf("%s-%06d", prefix, i)) }
func valueOf(prefix string, i int) []byte { return []byte(fmt.Sprintf("value of %s #%d", prefix, i)) }

// writeResult summarizes writeKeys.
type writeResult struct {
	retries  int64         // attempts beyond the first
	failed   []string      // keys whose every attempt failed, with the last error
	took     time.Duration // wall time
	firstErr []string      // a few errors of retried attempts
}

// writeKeys writes n distinct keys (keyOf(prefix, i) = valueOf(prefix, i))
// at W=w with conc goroutines; each failed write is retried up to 4 times.
func writeKeys(c *client.Client, prefix string, n, conc, w int) writeResult {
	var res writeResult
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var err error
				for attempt := range 5 {
					if attempt > 0 {
						atomic.AddInt64(&res.retries, 1)
						time.Sleep(time.Duration(attempt) * 50 * time.Millisecond)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					_, err = c.Put(ctx, keyOf(prefix, i), valueOf(prefix, i), client.Context{}, client.W(w))
					cancel()
					if err == nil {
						break
					}
					mu.Lock()
					if len(res.firstErr) < 5 {
						res.firstErr = append(res.firstErr, fmt.Sprintf("%s: %v", keyOf(prefix, i), err))
					}
					mu.Unlock()
				}
				if err != nil {
					mu.Lock()
					res.failed = append(res.failed, fmt.Sprintf("%s: %v", keyOf(prefix, i), err))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	res.took = time.Since(start)
	return res
}

// readResult summarizes readKeys.
type readResult struct {
	missing []string // not found
	wrong   []string // found without the value written
	errs    []string // the read failed
}

// readKeys reads keyOf(prefix, i) for i in [0, n) at R=r and checks that
// valueOf(prefix, i) is among the values.
func readKeys(c *client.Client, prefix string, n, conc, r int) readResult {
	var res readResult
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				key, want := keyOf(prefix, i), valueOf(prefix, i)
				var obj *client.Object
				var err error
				for attempt := range 3 { // a transport hiccup is not a lost write
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					obj, err = c.Get(ctx, key, client.R(r))
					cancel()
					if err == nil || attempt == 2 {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				mu.Lock()
				switch {
				case err != nil:
					res.errs = append(res.errs, fmt.Sprintf("%s: %v", key, err))
				case !obj.Found:
					res.missing = append(res.missing, string(key))
				case !slices.ContainsFunc(obj.Values, func(v []byte) bool { return string(v) == string(want) }):
					res.wrong = append(res.wrong, fmt.Sprintf("%s: %q", key, strs(obj.Values)))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Strings(res.missing)
	return res
}

func firstFew(s []string) string {
	if len(s) > 5 {
		return strings.Join(s[:5], "; ") + fmt.Sprintf("; ... (%d in all)", len(s))
	}
	return strings.Join(s, "; ")
}

// logLines returns the lines of an agent's output containing any of subs,
// at most max of them.
func logLines(a *agent, max int, subs ...string) string {
	var out []string
	for _, l := range strings.Split(a.out.String(), "\n") {
		for _, s := range subs {
			if strings.Contains(l, s) {
				out = append(out, l)
				break
			}
		}
	}
	if len(out) > max {
		out = append(out[:max], fmt.Sprintf("... (%d lines in all)", len(out)))
	}
	return strings.Join(out, "\n")
}

// ---------------------------------------------------------------------------
// 1. Hinted handoff delivers every write a stopped node missed.

func TestE2EHintedHandoffDeliversEveryWrite(t *testing.T) {
	t.Run("handoff", func(t *testing.T) { handoffScenario(t, 10000, false) })
	// The control: without hinted handoff the returned node misses the
	// writes, which proves the check above can fail.
	t.Run("no-hinted-handoff-control", func(t *testing.T) { handoffScenario(t, 500, true) })
}

func handoffScenario(t *testing.T, keys int, noHH bool) {
	flags := append([]string{}, fastHints...)
	if noHH {
		flags = append(flags, "--no-hinted-handoff")
	}
	e := newE2EWith(t, 3, flags)
	c := e.client()
	const prefix = "hh"

	// e3 stopped (SIGTERM: peers see it failed; its data dir is kept).
	e.stop(2)
	e.waitUp(2)

	res := writeKeys(c, prefix, keys, 32, 2)
	t.Logf("%d writes at W=2 with e3 down: %v (%.0f/s), %d retries, %d failed; retried errors: %s",
		keys, res.took.Round(time.Millisecond), float64(keys)/res.took.Seconds(), res.retries, len(res.failed), firstFew(res.firstErr))
	if len(res.failed) > 0 {
		t.Fatalf("%d writes failed at W=2 with one node of three down (after retries): %s", len(res.failed), firstFew(res.failed))
	}

	// The coordinator hands its hint to its local hint dispatcher without
	// waiting (the write is acknowledged at W=2 by real replicas), so the
	// hints may become durable a little after the last ack: wait until
	// every write e3 missed has its hint (one per key; retries merge).
	writesDone := time.Now()
	if noHH {
		if p := pendingSum(t, c, "e1", "e2"); p != 0 {
			t.Fatalf("--no-hinted-handoff: %d hints pending on e1 and e2", p)
		}
	} else {
		waitFor(t, 30*time.Second, fmt.Sprintf("%d hints stored on e1 and e2 (one per write e3 missed)", keys), func() (bool, string) {
			return pendingSum(t, c, "e1", "e2") >= uint64(keys), statsLine(c, "e1", "e2")
		})
		t.Logf("all %d hints stored %v after the last write was acknowledged", keys, time.Since(writesDone).Round(time.Millisecond))
	}
	t.Logf("before e3 returns: %s", statsLine(c, "e1", "e2"))

	// e3 returns on its data dir.
	restarted := time.Now()
	e.start(2)
	e.waitUp(3)
	t.Logf("e3 up again %v after its restart", time.Since(restarted).Round(time.Millisecond))
	if noHH {
		// Nothing to drain: hints must stay at zero for a fixed bound.
		for time.Since(restarted) < 3*time.Second {
			for _, n := range []string{"e1", "e2"} {
				if st, err := stats(c, n); err == nil && st.HintsPending != 0 {
					t.Fatalf("--no-hinted-handoff: %s reports %d hints pending", n, st.HintsPending)
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
	} else {
		waitHintsDrained(t, c, 60*time.Second, "e1", "e2")
		t.Logf("hints drained %v after e3 restarted: %s", time.Since(restarted).Round(time.Millisecond), statsLine(c, "e1", "e2", "e3"))
		var delivered uint64
		for _, n := range []string{"e1", "e2"} {
			st, _ := stats(c, n)
			delivered += st.HintsDelivered
		}
		if delivered < uint64(keys) {
			t.Errorf("e1 and e2 delivered %d hints, fewer than the %d writes e3 missed", delivered, keys)
		}
	}

	// e3 alone: every key at R=1.
	e.stop(0)
	e.stop(1)
	e.waitUp(1)
	c3 := e.clientOf(e.agents[2].actor)
	rr := readKeys(c3, prefix, keys, 32, 1)
	t.Logf("e3 alone at R=1: %d of %d keys missing, %d with a wrong value, %d reads failed", len(rr.missing), keys, len(rr.wrong), len(rr.errs))
	if len(rr.errs) > 0 {
		t.Fatalf("reads from e3 alone failed: %s", firstFew(rr.errs))
	}
	if len(rr.wrong) > 0 {
		t.Errorf("keys with a wrong value on e3: %s", firstFew(rr.wrong))
	}
	if noHH {
		if len(rr.missing) == 0 {
			t.Fatalf("control: with --no-hinted-handoff e3 still has all %d keys it was down for: the handoff test cannot tell delivery from something else", keys)
		}
		return
	}
	if len(rr.missing) > 0 {
		t.Fatalf("hinted handoff lost writes: %d of %d keys missing on e3 after hints drained: %s\ne1/e2 hint log lines:\n%s\n%s",
			len(rr.missing), keys, firstFew(rr.missing),
			logLines(e.agents[0], 20, "hint"), logLines(e.agents[1], 20, "hint"))
	}
}

// ---------------------------------------------------------------------------
// 2. Hints survive a SIGKILL of the nodes holding them.

func TestE2EHintHolderKilledBeforeDelivery(t *testing.T) {
	e := newE2EWith(t, 3, fastHints)
	const keys, prefix = 2000, "hk"
	names := []string{"e1", "e2"}

	e.stop(2) // C
	e.waitUp(2)
	cA := e.clientOf(e.agents[0].actor)
	res := writeKeys(cA, prefix, keys, 32, 2)
	t.Logf("%d writes at W=2 through A with C down: %v, %d retries", keys, res.took.Round(time.Millisecond), res.retries)
	if len(res.failed) > 0 {
		t.Fatalf("%d writes failed with one node of three down: %s", len(res.failed), firstFew(res.failed))
	}
	// Hints reach the store shortly after the acks (see the handoff test):
	// wait until all are durable, then crash their holders.
	writesDone := time.Now()
	waitFor(t, 30*time.Second, fmt.Sprintf("%d hints stored on A and B", keys), func() (bool, string) {
		return pendingSum(t, cA, names...) >= keys, statsLine(cA, names...)
	})
	t.Logf("all hints stored %v after the last ack", time.Since(writesDone).Round(time.Millisecond))
	var before [2]uint64
	for i, n := range names {
		st, err := stats(cA, n)
		if err != nil {
			t.Fatalf("status of %s: %v", n, err)
		}
		before[i] = st.HintsPending
	}
	t.Logf("before the kill: %s", statsLine(cA, names...))
	if before[0] == 0 || before[1] == 0 {
		t.Logf("note: one holder has no hints (A coordinated everything?): %v", before)
	}
	cA.Close()

	// SIGKILL both hint holders while C is still down.
	e.kill(0)
	e.kill(1)
	e.start(0)
	e.start(1)
	e.waitUp(2)
	c := e.clientOf(e.agents[0].actor, e.agents[1].actor)
	// C is still down: nothing may be delivered, every hint must still be
	// held. Watch for two hint intervals (periodic rounds included).
	var view string
	if m, err := c.Status(context.Background(), "e1"); err == nil {
		for _, x := range m.Members {
			view += fmt.Sprintf(" %s:%s", x.Name, x.State)
		}
	}
	watch := time.Now()
	for time.Since(watch) < 2*time.Second {
		bad := false
		for i, n := range names {
			st, err := stats(c, n)
			if err != nil {
				t.Fatalf("status of %s after its restart: %v", n, err)
			}
			if st.HintsPending != before[i] || st.HintsDelivered != 0 {
				t.Errorf("%s held %d hints for e3 before SIGKILL; %v after its restart, with e3 still down: %d pending, %d delivered (to whom?). "+
					"e1's view after the restart:%s", n, before[i], time.Since(watch).Round(time.Millisecond), st.HintsPending, st.HintsDelivered, view)
				bad = true
			}
		}
		if bad {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("after A and B restarted (e1's view:%s): %s", view, statsLine(c, names...))

	restarted := time.Now()
	e.start(2)
	e.waitUp(3)
	waitHintsDrained(t, c, 60*time.Second, names...)
	t.Logf("hints drained %v after C restarted: %s", time.Since(restarted).Round(time.Millisecond), statsLine(c, "e1", "e2", "e3"))

	e.stop(0)
	e.stop(1)
	e.waitUp(1)
	cC := e.clientOf(e.agents[2].actor)
	rr := readKeys(cC, prefix, keys, 32, 1)
	if len(rr.errs) > 0 {
		t.Fatalf("reads from C alone failed: %s", firstFew(rr.errs))
	}
	if len(rr.missing) > 0 || len(rr.wrong) > 0 {
		t.Fatalf("after the hint holders were SIGKILLed and restarted: %d of %d keys missing on C (%s), %d wrong (%s)\ne1's membership and hint log lines:\n%s",
			len(rr.missing), keys, firstFew(rr.missing), len(rr.wrong), firstFew(rr.wrong),
			logLines(e.agents[0], 20, "member joined", "member recovered", "member failed", "hint"))
	}
}

// ---------------------------------------------------------------------------
// 3. Supervision: crashed actors restart while writes keep succeeding.

// ackLog records acknowledged writes.
type ackLog struct {
	mu    sync.Mutex
	acked map[string]string
	times []time.Time // ack times, in order
	fails []string
	nfail int
}

func (l *ackLog) ack(k, v string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[k] = v
	l.times = append(l.times, time.Now())
}

func (l *ackLog) fail(k string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nfail++
	if len(l.fails) < 10 {
		l.fails = append(l.fails, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), k, err))
	}
}

// acksSince counts acks at or after t.
func (l *ackLog) acksSince(t time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := sort.Search(len(l.times), func(i int) bool { return !l.times[i].Before(t) })
	return len(l.times) - i
}

// keyIn finds a key of partition p.
func keyIn(r *ring.Ring, p uint32, prefix string) []byte {
	for i := 0; ; i++ {
		k := []byte(prefix + "-" + strconv.Itoa(i))
		if r.Partition(k) == p {
			return k
		}
	}
}

func TestE2ESupervisionUnderWriteLoad(t *testing.T) {
	fi := []string{"--allow-fault-injection"}
	// e1 and e2 accept fault injection, e3 does not (for the refusal).
	e := newE2EWith(t, 3, nil, fi, fi, nil)
	c := e.client()
	ctx := context.Background()

	// Refused without --allow-fault-injection.
	out, errOut, code := e.cli("debug", "crash", "--node", "e3", "--component", "router")
	if code != 1 || !strings.Contains(errOut, "--allow-fault-injection") {
		t.Errorf("dynamo debug crash on an agent without --allow-fault-injection: exit %d (want 1), stdout %q, stderr %q (want it to name --allow-fault-injection)", code, out, errOut)
	}

	m, err := c.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Ring()
	if err != nil {
		t.Fatal(err)
	}
	parts, err := r.PartitionsOf("e1")
	if err != nil || len(parts) < 4 {
		t.Fatalf("partitions of e1: %v %v", parts, err)
	}

	// Write load: 8 writers, unique keys.
	log := &ackLog{acked: map[string]string{}}
	stopLoad := runLoad(8, 20*time.Millisecond, func(w int, i int64) bool {
		k, v := fmt.Sprintf("sv-%d-%d", w, i), fmt.Sprintf("v%d", i)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := c.Put(cctx, []byte(k), []byte(v), client.Context{}, client.W(2))
		cancel()
		if err != nil {
			log.fail(k, err)
			return false
		}
		log.ack(k, v)
		return true
	})
	defer stopLoad()

	// acksAfter waits until the load has some acks after t0, and lets it
	// run at least 400 ms past t0 (the crashes are spread over seconds).
	acksAfter := func(t0 time.Time, what string) {
		t.Helper()
		waitFor(t, 5*time.Second, "writes acknowledged after "+what, func() (bool, string) {
			n := log.acksSince(t0)
			log.mu.Lock()
			defer log.mu.Unlock()
			return n >= 50 && time.Since(t0) > 400*time.Millisecond, fmt.Sprintf("%d acks since, %d failures in all, first: %s", n, log.nfail, firstFew(log.fails))
		})
	}
	loadStart := time.Now()
	acksAfter(loadStart, "the load started")

	crash := func(args ...string) time.Time {
		t.Helper()
		at := time.Now()
		out, errOut, code := e.cli(append([]string{"debug", "crash", "--node", "e1"}, args...)...)
		if code != 0 {
			t.Fatalf("dynamo debug crash %v: exit %d, %s %s", args, code, out, errOut)
		}
		return at
	}
	crashes := 0
	// Vnodes: after each crash, a write to that partition at W=3 (every
	// replica, so e1's vnode too) must succeed again.
	for _, p := range parts[:4] {
		at := crash("--component", "vnode", "--partition", strconv.Itoa(int(p)))
		crashes++
		key := keyIn(r, p, fmt.Sprintf("probe-%d", p))
		attempts := 0
		waitFor(t, 5*time.Second, fmt.Sprintf("a W=3 write to partition %d after its vnode on e1 crashed", p), func() (bool, string) {
			attempts++
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := c.Put(cctx, key, []byte("probe"), client.Context{}, client.W(3))
			return err == nil, fmt.Sprintf("attempt %d: %v", attempts, err)
		})
		acksAfter(at, fmt.Sprintf("the crash of vnode %d", p))
	}
	at := crash("--component", "router")
	crashes++
	acksAfter(at, "the crash of e1's router")
	at = crash("--component", "hints")
	crashes++
	acksAfter(at, "the crash of e1's hint dispatcher")
	// e1 itself must coordinate again: a client seeded with e1 only and a
	// key whose first primary is e1.
	var k1 []byte
	for i := 0; ; i++ {
		k := []byte("e1-first-" + strconv.Itoa(i))
		if r.PreferenceList(r.Partition(k))[0] == "e1" {
			k1 = k
			break
		}
	}
	waitFor(t, 5*time.Second, "a write through e1 after its router and hint dispatcher crashed", func() (bool, string) {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := c.Put(cctx, k1, []byte("x"), client.Context{}, client.W(3))
		return err == nil, fmt.Sprint(err)
	})
	acksAfter(time.Now(), "the probes") // a little more load after the last crash
	stopLoad()
	loadTook := time.Since(loadStart)

	log.mu.Lock()
	acked, nfail, fails := len(log.acked), log.nfail, slices.Clone(log.fails)
	log.mu.Unlock()
	t.Logf("load: %v, %d writes acknowledged, %d failed (first: %s)", loadTook.Round(time.Millisecond), acked, nfail, firstFew(fails))

	// Every acknowledged write is readable at R=3.
	var missing, wrong, errs []string
	var mu sync.Mutex
	keys := make(chan string)
	var rg sync.WaitGroup
	for range 16 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for k := range keys {
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				obj, err := c.Get(cctx, []byte(k), client.R(3))
				cancel()
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, fmt.Sprintf("%s: %v", k, err))
				case !obj.Found:
					missing = append(missing, k)
				case !slices.Contains(strs(obj.Values), log.acked[k]):
					wrong = append(wrong, fmt.Sprintf("%s: %q", k, strs(obj.Values)))
				}
				mu.Unlock()
			}
		}()
	}
	for k := range log.acked {
		keys <- k
	}
	close(keys)
	rg.Wait()
	if len(missing)+len(wrong)+len(errs) > 0 {
		t.Errorf("acknowledged writes not readable at R=3: %d missing (%s), %d wrong (%s), %d reads failed (%s)",
			len(missing), firstFew(missing), len(wrong), firstFew(wrong), len(errs), firstFew(errs))
	}

	// Counters and log.
	out, errOut, code = e.cli("members", "--node", "e1", "--json")
	if code != 0 {
		t.Fatalf("dynamo members --node e1 --json: exit %d: %s", code, errOut)
	}
	var mj struct {
		Node  string `json:"node"`
		Stats struct {
			Restarts       uint64 `json:"restarts"`
			HintsPending   uint64 `json:"hints_pending"`
			HintsDelivered uint64 `json:"hints_delivered"`
			Vnodes         int    `json:"vnodes"`
			FaultInjection bool   `json:"fault_injection"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(out), &mj); err != nil {
		t.Fatalf("members --json: %v in %q", err, out)
	}
	t.Logf("e1: %s", strings.TrimSpace(out))
	if mj.Node != "e1" || mj.Stats.Restarts < uint64(crashes) || !mj.Stats.FaultInjection || mj.Stats.Vnodes != len(parts) {
		t.Errorf("members --node e1: node %q, restarts %d (want >= %d crashes), fault_injection %v (want true), vnodes %d (want %d)",
			mj.Node, mj.Stats.Restarts, crashes, mj.Stats.FaultInjection, mj.Stats.Vnodes, len(parts))
	}
	if !strings.Contains(e.agents[0].out.String(), "restarting") {
		t.Errorf("e1's log does not mention restarting; its error lines:\n%s", logLines(e.agents[0], 20, "level=ERROR"))
	} else {
		t.Logf("e1's restart log lines:\n%s", logLines(e.agents[0], 10, "restarting"))
	}
	if st, err := stats(c, "e3"); err != nil || st.FaultInjection || st.Restarts != 0 {
		t.Errorf("e3 (no fault injection): %+v %v (want fault injection off, no restarts)", st, err)
	}
}

// ---------------------------------------------------------------------------
// 4. Writes continue, with a bounded latency, through a SIGKILL and a
// SIGSTOP.

type writeRec struct {
	start time.Time
	lat   time.Duration
	err   error
	key   string
	value string
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func TestE2EWritesContinueThroughKillAndPause(t *testing.T) {
	const timeout = time.Second
	// serf's detection with --fast-gossip (~0.5 s) + one request timeout.
	const grace = 1500 * time.Millisecond
	e := newE2EWith(t, 3, []string{"--w", "2", "--n", "3", "--timeout", "1s"})
	c := e.client()

	var mu sync.Mutex
	var recs []writeRec
	stopLoad := runLoad(4, 10*time.Millisecond, func(w int, i int64) bool {
		k, v := fmt.Sprintf("wc-%d-%d", w, i), fmt.Sprintf("v%d", i)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := c.Put(ctx, []byte(k), []byte(v), client.Context{}, client.W(2), client.Timeout(timeout))
		cancel()
		lat := time.Since(start)
		mu.Lock()
		recs = append(recs, writeRec{start: start, lat: lat, err: err, key: k, value: v})
		mu.Unlock()
		return err == nil
	})
	defer stopLoad()

	type event struct {
		name string
		at   time.Time
	}
	begin := time.Now()
	events := []event{{"load started", begin}}
	mark := func(name string) { events = append(events, event{name, time.Now()}) }

	time.Sleep(1500 * time.Millisecond) // baseline
	// Phase A: C crashes.
	mark("SIGKILL e3")
	e.kill(2)
	time.Sleep(grace + 2*time.Second)
	// Phase B: C returns, then B hangs for 3 s.
	mark("restart e3")
	e.start(2)
	e.waitUp(3)
	time.Sleep(grace + time.Second)
	mark("SIGSTOP e2")
	e.pause(1)
	time.Sleep(3 * time.Second)
	mark("SIGCONT e2")
	e.cont(1)
	time.Sleep(grace + 1500*time.Millisecond)
	stopLoad()
	end := time.Now()

	mu.Lock()
	all := slices.Clone(recs)
	mu.Unlock()
	if len(all) == 0 {
		t.Fatal("no writes")
	}

	// Every window from grace after an event to the next event must be
	// clean: all writes started in it (and done before the next event)
	// succeed within the timeout.
	// (The first window, before any fault, has no grace.)
	for i, ev := range events {
		from := ev.at.Add(grace)
		if i == 0 {
			from = ev.at
		}
		to := end
		if i+1 < len(events) {
			to = events[i+1].at
		}
		var lats []time.Duration
		var bad []string
		var inGrace, graceFail int
		var graceLat []time.Duration
		for _, r := range all {
			if !r.start.Before(ev.at) && r.start.Before(from) {
				inGrace++
				graceLat = append(graceLat, r.lat)
				if r.err != nil {
					graceFail++
				}
			}
			// A write still in flight at the next event belongs to
			// that event's grace window.
			if r.start.Before(from) || !r.start.Before(to) || r.start.Add(r.lat).After(to) {
				continue
			}
			lats = append(lats, r.lat)
			if r.err != nil || r.lat > timeout {
				bad = append(bad, fmt.Sprintf("%s started +%v took %v err %v", r.key, r.start.Sub(begin).Round(time.Millisecond), r.lat.Round(time.Millisecond), r.err))
			}
		}
		t.Logf("%-12s: grace window %d writes (%d failed, p50 %v p99 %v max %v); steady window +%v..+%v: %d writes, p50 %v p99 %v max %v, %d bad",
			ev.name, inGrace, graceFail, percentile(graceLat, .5).Round(time.Millisecond), percentile(graceLat, .99).Round(time.Millisecond), percentile(graceLat, 1).Round(time.Millisecond),
			from.Sub(begin).Round(time.Millisecond), to.Sub(begin).Round(time.Millisecond), len(lats),
			percentile(lats, .5).Round(time.Millisecond), percentile(lats, .99).Round(time.Millisecond), percentile(lats, 1).Round(time.Millisecond), len(bad))
		if len(lats) == 0 {
			t.Errorf("after %s: no writes started in the steady window", ev.name)
		}
		if len(bad) > 0 {
			t.Errorf("after %s: %d of %d writes started more than %v after it failed or took longer than %v: %s",
				ev.name, len(bad), len(lats), grace, timeout, firstFew(bad))
		}
	}

	// Every acknowledged write is readable at R=2.
	var missing, wrong, errs []string
	var rmu sync.Mutex
	ch := make(chan writeRec)
	var rg sync.WaitGroup
	for range 16 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for r := range ch {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				obj, err := c.Get(ctx, []byte(r.key), client.R(2))
				cancel()
				rmu.Lock()
				switch {
				case err != nil:
					errs = append(errs, fmt.Sprintf("%s: %v", r.key, err))
				case !obj.Found:
					missing = append(missing, r.key)
				case !slices.Contains(strs(obj.Values), r.value):
					wrong = append(wrong, fmt.Sprintf("%s: %q", r.key, strs(obj.Values)))
				}
				rmu.Unlock()
			}
		}()
	}
	acked := 0
	for _, r := range all {
		if r.err == nil {
			acked++
			ch <- r
		}
	}
	close(ch)
	rg.Wait()
	t.Logf("%d writes, %d acknowledged; read back at R=2: %d missing, %d wrong, %d failed", len(all), acked, len(missing), len(wrong), len(errs))
	if len(missing)+len(wrong)+len(errs) > 0 {
		t.Errorf("acknowledged writes not readable at R=2: missing %s; wrong %s; failed %s", firstFew(missing), firstFew(wrong), firstFew(errs))
	}
	var failed []string
	for _, r := range all {
		if r.err != nil {
			failed = append(failed, fmt.Sprintf("+%v %s: %v", r.start.Sub(begin).Round(time.Millisecond), r.key, r.err))
		}
	}
	if len(failed) > 0 {
		t.Logf("failed writes (all in grace windows unless reported above): %s", firstFew(failed))
	}
}
