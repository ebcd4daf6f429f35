package coordinator

import (
	"errors"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
)

func TestPutGetDelete(t *testing.T) {
	s := newSim(t, 3)
	if a := s.get("node-01", "cart", 2); a.Err != nil || a.Found || len(a.Context) != 0 {
		t.Fatalf("absent key: %+v", a)
	}
	w := s.put("node-02", "cart", "banana", nil, 2)
	if w.Err != nil || w.Acked < 2 {
		t.Fatalf("put: %+v", w)
	}
	a := s.get("node-03", "cart", 2)
	if a.Err != nil || !a.Found || vals(a) != `["banana"]` {
		t.Fatalf("get: %+v", a)
	}
	for n, set := range s.replicas("cart") {
		if v, _ := set.Live(version.ModeSiblings, 0); len(v) != 1 {
			t.Fatalf("replica %s holds %v", n, set)
		}
	}
	d := s.write("node-01", "cart", version.Write{Tombstone: true}, a.Context, 2)
	if d.Err != nil {
		t.Fatal(d.Err)
	}
	if a := s.get("node-01", "cart", 2); a.Err != nil || a.Found || len(a.Context) == 0 {
		t.Fatalf("after delete: %+v (a deleted key still has a context)", a)
	}
}

func TestSameContextSameCoordinatorMakesSiblingsAndMergeResolves(t *testing.T) {
	s := newSim(t, 5)
	s.put("node-01", "k", "v0", nil, 2)
	ctx := s.get("node-01", "k", 2).Context
	s.put("node-01", "k", "client-1", ctx, 2)
	s.put("node-01", "k", "client-2", ctx, 2)
	a := s.get("node-04", "k", 2)
	if vals(a) != `["client-1" "client-2"]` {
		t.Fatalf("no lost update: want both siblings, got %s", vals(a))
	}
	s.put("node-05", "k", "merged", a.Context, 2)
	if a := s.get("node-02", "k", 3); vals(a) != `["merged"]` {
		t.Fatalf("a write with the merged context resolves siblings: %s", vals(a))
	}
}

func TestOneNodeStoppedQuorumsStillSucceed(t *testing.T) {
	s := newSim(t, 3)
	s.stopped["node-02"] = true // not known down: the coordinator waits for its deadline
	if w := s.put("node-01", "k", "v", nil, 2); w.Err != nil || w.Acked != 2 {
		t.Fatalf("W=2 with one of three stopped: %+v", w)
	}
	if a := s.get("node-03", "k", 2); a.Err != nil || vals(a) != `["v"]` {
		t.Fatalf("R=2 with one of three stopped: %+v", a)
	}
}

func TestTwoOfThreeStoppedWriteFailsNamingNeedAndGot(t *testing.T) {
	s := newSim(t, 3)
	s.stopped["node-02"], s.stopped["node-03"] = true, true
	w := s.put("node-01", "k", "v", nil, 2)
	var qe *quorum.Error
	if !errors.As(w.Err, &qe) || !errors.Is(w.Err, quorum.ErrQuorum) || qe.Need != 2 || qe.Got != 1 {
		t.Fatalf("want a quorum error 1 of 2, got %v", w.Err)
	}
	if !strings.Contains(w.Err.Error(), "1 of 2") {
		t.Fatalf("error text %q does not say 1 of 2", w.Err)
	}
	a := s.get("node-01", "k", 2)
	if !errors.As(a.Err, &qe) || qe.Need != 2 || qe.Got != 1 || !strings.Contains(a.Err.Error(), "read quorum: 1 of 2") {
		t.Fatalf("read: %v", a.Err)
	}
	// When membership already knows they are down, fail fast without
	// sending anything (no fallbacks exist in a 3-node cluster).
	s.down["node-02"], s.down["node-03"] = true, true
	w = s.put("node-01", "k", "v", nil, 2)
	var ue *UnavailableError
	if !errors.As(w.Err, &ue) || ue.Need != 2 || ue.Got != 1 || !strings.Contains(w.Err.Error(), "1 of 2 replicas reachable") {
		t.Fatalf("known-down write: %v", w.Err)
	}
}

func TestQuorumAboveNRefusedBeforeSending(t *testing.T) {
	s := newSim(t, 3)
	route := s.route("k")
	if _, reads, err := newGet(route, []byte("k"), GetOptions{R: 4}); !errors.Is(err, ErrInvalid) || reads != nil || !strings.Contains(err.Error(), "r=4 exceeds n=3") {
		t.Fatalf("R=4: %v %v", err, reads)
	}
	if p, fwd, err := NewPut(route, "node-01", []byte("k"), PutOptions{W: 4}); !errors.Is(err, ErrInvalid) || p != nil || fwd != "" || !strings.Contains(err.Error(), "w=4 exceeds n=3") {
		t.Fatalf("W=4: %v", err)
	}
	if _, _, err := newGet(route, nil, GetOptions{R: 1}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "key") {
		t.Fatalf("empty key: %v", err)
	}
}

func TestPutIsCoordinatedByAPrimary(t *testing.T) {
	s := newSim(t, 6)
	route := s.route("k")
	owners := s.ring.Owners(route.Partition)
	var outsider string
	for _, m := range s.ring.Members() {
		if !strings.Contains(strings.Join(owners, ","), m.Name) {
			outsider = m.Name
			break
		}
	}
	p, fwd, err := NewPut(route, outsider, []byte("k"), PutOptions{W: 2})
	if err != nil || p != nil || fwd != owners[0] {
		t.Fatalf("a non-replica must forward to the first primary %s: %v %q %v", owners[0], p, fwd, err)
	}
	s.put(outsider, "k", "v", nil, 2)
	sib := s.replicas("k")[owners[0]].Siblings()[0]
	if !strings.HasPrefix(sib.Dot.Actor, owners[0]+"@") {
		t.Fatalf("the coordinator's dot must be a replica's: %v", sib.Dot)
	}
	s.down[owners[0]] = true
	if _, fwd, _ := NewPut(s.route("k"), outsider, []byte("k"), PutOptions{W: 2}); fwd != owners[1] {
		t.Fatalf("with the first primary down, forward to the next: %q", fwd)
	}
}

// A put that must be coordinated by the key's first up primary (an
// if-absent put) is forwarded there by the other primaries too, and by
// the second when the first is down.
func TestFirstPrimaryPutIsForwardedByOtherPrimaries(t *testing.T) {
	s := newSim(t, 6)
	route := s.route("k")
	owners := s.ring.Owners(route.Partition)
	if p, fwd, err := NewPut(route, owners[1], []byte("k"), PutOptions{W: 2}); err != nil || p == nil || fwd != "" {
		t.Fatalf("a plain put at the second primary is coordinated there: %v %q %v", p, fwd, err)
	}
	for _, via := range owners[1:] {
		if p, fwd, err := NewPut(route, via, []byte("k"), PutOptions{W: 2, FirstPrimary: true}); err != nil || p != nil || fwd != owners[0] {
			t.Fatalf("a first-primary put at %s: %v %q %v, want a forward to %s", via, p, fwd, err, owners[0])
		}
	}
	if p, fwd, err := NewPut(route, owners[0], []byte("k"), PutOptions{W: 2, FirstPrimary: true}); err != nil || p == nil || fwd != "" {
		t.Fatalf("a first-primary put at the first primary: %v %q %v", p, fwd, err)
	}
	s.down[owners[0]] = true
	if p, fwd, err := NewPut(s.route("k"), owners[1], []byte("k"), PutOptions{W: 2, FirstPrimary: true}); err != nil || p == nil || fwd != "" {
		t.Fatalf("with the first primary down the second coordinates: %v %q %v", p, fwd, err)
	}
}

func TestReadRepairFixesStaleReplicas(t *testing.T) {
	s := newSim(t, 3)
	owners := s.ring.Owners(s.route("k").Partition)
	stale := owners[2]
	s.stopped[stale] = true
	s.put(owners[0], "k", "v1", nil, 2)
	s.stopped[stale] = false
	if s.replicas("k")[stale] != nil {
		t.Fatal("setup: the stale replica should have missed the write")
	}
	a := s.get(owners[1], "k", 2)
	if vals(a) != `["v1"]` {
		t.Fatalf("get: %s", vals(a))
	}
	reps := s.replicas("k")
	if !version.Equal(reps[stale], reps[owners[0]]) {
		t.Fatalf("read repair did not bring %s up to date: %v vs %v", stale, reps[stale], reps[owners[0]])
	}
}

func TestAnswersExactlyOnce(t *testing.T) {
	s := newSim(t, 3)
	s.put("node-01", "k", "v", nil, 3)
	g, reads, err := newGet(s.route("k"), []byte("k"), GetOptions{R: 1})
	if err != nil {
		t.Fatal(err)
	}
	answers := 0
	for _, rd := range reads {
		set, _ := s.store(rd.Node, rd.Partition).Get(rd.Key)
		if a, _ := getReply(g, rd.Node, true, set, nil); a != nil {
			answers++
		}
		if a, _ := getReply(g, rd.Node, true, set, nil); a != nil { // duplicate
			t.Fatal("a duplicate reply produced an answer")
		}
	}
	if a, _ := getDeadline(g); a != nil {
		answers++
	}
	if answers != 1 || !g.done() {
		t.Fatalf("answers %d, done %v", answers, g.done())
	}
	if a, _ := getReply(g, "stranger", true, nil, nil); a != nil {
		t.Fatal("a reply from a node not asked produced an answer")
	}
}

func TestLocalWriteFailureFailsThePut(t *testing.T) {
	s := newSim(t, 3)
	route := s.route("k")
	owner := s.ring.Owners(route.Partition)[0]
	p, _, err := NewPut(route, owner, []byte("k"), PutOptions{W: 2})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("storage: disk full")
	ans := putCoordinated(p, boom)
	if ans == nil || !errors.Is(ans.Err, boom) {
		t.Fatalf("local failure: %+v", ans)
	}
	if sends := putPrepared(p, &version.Set{}, version.Dot{}); len(sends) != 0 {
		t.Fatalf("a write whose local write failed sent replica writes %+v", sends)
	}
	// Success before Prepared is not an ack: the version is not known yet.
	p, _, err = NewPut(route, owner, []byte("k"), PutOptions{W: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a := putCoordinated(p, nil); a != nil || p.done() {
		t.Fatalf("success before Prepared answered %+v", a)
	}
	if sends := putPrepared(p, &version.Set{}, version.Dot{}); len(sends) != 2 {
		t.Fatalf("Prepared after an early success sent %+v", sends)
	}
	if a := putCoordinated(p, nil); a == nil || a.Err != nil {
		t.Fatalf("the local ack after Prepared: %+v", a)
	}
	if a, _ := putDeadline(p); a != nil {
		t.Fatal("answered twice")
	}
}

// A write prepared at the coordinator goes to the replicas before it is
// durable locally; the local commit is the coordinator's ack, and its
// failure fails the write unless W acks decided it already.
func TestPreparedWriteWaitsForTheLocalCommit(t *testing.T) {
	s := newSim(t, 3)
	route := s.route("k")
	owners := s.ring.Owners(route.Partition)
	boom := errors.New("storage: disk full")
	set := &version.Set{}
	for _, tc := range []struct {
		name     string
		w        int
		localErr error
		acks     int  // replica acks before the local outcome
		wantErr  bool // the answer fails
		early    bool // answered before the local outcome
	}{
		{"W=2 local and one replica", 2, nil, 1, false, false},
		{"W=2 two replicas first", 2, nil, 2, false, true},
		{"W=2 local fails", 2, boom, 1, true, false},
		{"W=2 local fails after W", 2, boom, 2, false, true},
		{"W=3 local fails", 3, boom, 2, true, false},
		{"W=1 one replica first", 1, nil, 1, false, true},
	} {
		p, _, err := NewPut(route, owners[0], []byte("k"), PutOptions{W: tc.w})
		if err != nil {
			t.Fatal(err)
		}
		sends := putPrepared(p, set, version.Dot{})
		if len(sends) != 2 || p.done() {
			t.Fatalf("%s: Prepared sends %+v", tc.name, sends)
		}
		if again := putPrepared(p, set, version.Dot{}); again != nil {
			t.Fatalf("%s: Prepared twice sent %+v", tc.name, again)
		}
		var ans *PutAnswer
		for _, rep := range sends[:tc.acks] {
			if a, _ := putReply(p, rep.Node, nil); a != nil {
				ans = a
			}
		}
		if early := ans != nil; early != tc.early {
			t.Fatalf("%s: answered before the local outcome: %v, want %v", tc.name, early, tc.early)
		}
		if a := putCoordinated(p, tc.localErr); a != nil {
			if ans != nil {
				t.Fatalf("%s: answered twice", tc.name)
			}
			ans = a
		}
		for _, rep := range sends[tc.acks:] {
			if a, _ := putReply(p, rep.Node, nil); a != nil {
				if ans != nil {
					t.Fatalf("%s: answered twice", tc.name)
				}
				ans = a
			}
		}
		if ans == nil || (ans.Err != nil) != tc.wantErr {
			t.Fatalf("%s: answer %+v", tc.name, ans)
		}
		if tc.wantErr && tc.localErr != nil && !errors.Is(ans.Err, tc.localErr) {
			t.Fatalf("%s: the answer %v does not carry the local error", tc.name, ans.Err)
		}
		if !p.done() {
			t.Fatalf("%s: not done after every reply", tc.name)
		}
	}
}

// A cluster smaller than N has fewer replicas than a quorum may need: that
// is unavailability (the request was valid), not a bad argument.
func TestSmallClusterQuorumIsUnavailableNotInvalid(t *testing.T) {
	r, err := ring.New(ring.Config{Partitions: 8, N: 3}, []ring.Member{{Name: "solo", Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	route := RouteKey(r, []byte("k"), func(string) bool { return false }, true)
	if route.N != 3 || len(route.Targets) != 1 {
		t.Fatalf("route %+v", route)
	}
	var ue *UnavailableError
	if _, _, err := NewPut(route, "solo", []byte("k"), PutOptions{W: 2}); !errors.As(err, &ue) || ue.Need != 2 || ue.Got != 1 {
		t.Fatalf("W=2 on one node: %v", err)
	}
	if _, _, err := newGet(route, []byte("k"), GetOptions{R: 4}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("R=4 with N=3: %v", err)
	}
	if p, fwd, err := NewPut(route, "solo", []byte("k"), PutOptions{W: 1}); err != nil || fwd != "" || p == nil {
		t.Fatalf("W=1 on one node: %v %q", err, fwd)
	}
}
