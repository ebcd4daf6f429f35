package coordinator

import (
	"fmt"
	"testing"

	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
	"github.com/dynamokv/dynamo/vnode"
)

// sim is a cluster of nodes with in-memory vnode stores, driven
// synchronously: requests are delivered at once; a stopped node never
// answers (the coordinator does not know: it waits for its deadline); a
// node marked down is also skipped by routing, as after a failure event.
type sim struct {
	t       *testing.T
	ring    *ring.Ring
	stores  map[string]map[uint32]*vnode.Store
	engines map[string]storage.Engine
	stopped map[string]bool
	down    map[string]bool
	failing map[string]bool // answers every replica write with an error
	strict  bool            // hinted handoff off: strict quorum, no hints
	// quorumFirst: reads ask R targets first (GetOptions.QuorumFirst),
	// the coordinator's own first; the others on a failure, or when the
	// replies run out before an answer (the speculative-retry timer).
	quorumFirst bool
	// hints[holder][owner][key] are the hints each node keeps: written to a
	// fallback, or kept by a coordinator (Replicate.Local).
	hints map[string]map[string]map[string]*version.Set
	clock int64
}

func newSim(t *testing.T, nodes int) *sim {
	t.Helper()
	r, err := ring.New(ring.Config{Partitions: 16, N: 3}, ring.Nodes(nodes))
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{t: t, ring: r, stores: map[string]map[uint32]*vnode.Store{}, engines: map[string]storage.Engine{},
		stopped: map[string]bool{}, down: map[string]bool{}, failing: map[string]bool{},
		hints: map[string]map[string]map[string]*version.Set{}}
	for _, m := range r.Members() {
		s.engines[m.Name] = storage.NewMemory()
		s.stores[m.Name] = map[uint32]*vnode.Store{}
	}
	return s
}

func (s *sim) store(node string, p uint32) *vnode.Store {
	st, ok := s.stores[node][p]
	if !ok {
		var err error
		st, err = vnode.Open(s.engines[node], vnode.DefaultConfig(p, 16, node))
		if err != nil {
			s.t.Fatal(err)
		}
		s.stores[node][p] = st
	}
	return st
}

func (s *sim) route(key string) Route {
	return RouteKey(s.ring, []byte(key), func(n string) bool { return s.down[n] }, !s.strict)
}

// hint stores a hint on holder for owner, merging as the hint store does.
func (s *sim) hint(holder, owner string, key []byte, set *version.Set) {
	if s.hints[holder] == nil {
		s.hints[holder] = map[string]map[string]*version.Set{}
	}
	if s.hints[holder][owner] == nil {
		s.hints[holder][owner] = map[string]*version.Set{}
	}
	s.hints[holder][owner][string(key)] = version.Sync(s.hints[holder][owner][string(key)], set)
}

// replicaGet is a replica read: a vnode's data, or a fallback's hint.
func (s *sim) replicaGet(rd Read) (*version.Set, error) {
	if rd.HintOwner != "" {
		return s.hints[rd.Node][rd.HintOwner][string(rd.Key)], nil
	}
	return s.store(rd.Node, rd.Partition).Get(rd.Key)
}

func (s *sim) get(via, key string, r int) *GetAnswer {
	s.t.Helper()
	g, reads, err := newGet(s.route(key), []byte(key), GetOptions{R: r, QuorumFirst: s.quorumFirst, First: via})
	if err != nil {
		return &GetAnswer{Err: err}
	}
	var ans *GetAnswer
	var repairs []Repair
	for len(reads) > 0 {
		rd := reads[0]
		reads = reads[1:]
		if !s.stopped[rd.Node] {
			set, err := s.replicaGet(rd)
			r := g.Step(GetReplied{Node: rd.Node, Found: set != nil, Set: set, Err: err})
			if r.Answer != nil {
				ans = r.Answer
			}
			repairs = append(repairs, r.Repairs...)
			reads = append(reads, r.Reads...)
		}
		if len(reads) == 0 && ans == nil {
			reads = g.Step(GetSpeculate{}).Reads
		}
	}
	if !g.done() {
		a, rp := getDeadline(g)
		if a != nil {
			ans = a
		}
		repairs = append(repairs, rp...)
	}
	for _, rp := range repairs {
		if s.stopped[rp.Node] {
			continue
		}
		if rp.HintOwner != "" {
			s.hint(rp.Node, rp.HintOwner, rp.Key, rp.Set)
		} else {
			if _, _, err := s.store(rp.Node, rp.Partition).Merge(rp.Key, rp.Set); err != nil {
				s.t.Fatal(err)
			}
		}
	}
	if ans == nil {
		s.t.Fatal("get finished without an answer")
	}
	return ans
}

func (s *sim) put(via, key, value string, ctx []byte, w int) *PutAnswer {
	return s.write(via, key, version.Write{Value: []byte(value)}, ctx, w)
}

func (s *sim) write(via, key string, wr version.Write, ctx []byte, w int) *PutAnswer {
	s.t.Helper()
	s.clock++
	route := s.route(key)
	clock, err := version.DecodeContext(ctx)
	if err != nil {
		return &PutAnswer{Err: err}
	}
	opts := PutOptions{W: w, Hints: !s.strict, Context: clock}
	p, forward, err := NewPut(route, via, []byte(key), opts)
	if err != nil {
		return &PutAnswer{Err: err}
	}
	if forward != "" {
		if p, forward, err = NewPut(route, forward, []byte(key), opts); err != nil || forward != "" {
			s.t.Fatalf("forwarded put did not land on a primary: %v %q", err, forward)
		}
		via = p.self
	}
	wr.Timestamp = s.clock
	// As the actors do: the replica writes go out on Prepare, and the
	// local commit is fed last (its disk is the slowest here).
	var ans *PutAnswer
	var sends []Replicate
	prep, err := s.store(via, route.Partition).Prepare([]byte(key), clock, wr, s.clock)
	if err != nil {
		ans = putCoordinated(p, err)
	} else {
		sends = putPrepared(p, prep.Set, prep.Dot)
	}
	for len(sends) > 0 {
		rep := sends[0]
		sends = sends[1:]
		switch {
		case rep.Local:
			if rep.Node != via {
				s.t.Fatalf("a local hint for %s on %s, not on the coordinator %s", rep.HintOwner, rep.Node, via)
			}
			s.hint(via, rep.HintOwner, rep.Key, rep.Set)
			continue
		case s.stopped[rep.Node]:
			continue
		}
		var err error
		switch {
		case s.failing[rep.Node]:
			err = fmt.Errorf("storage: disk full on %s", rep.Node)
		case rep.HintOwner != "":
			s.hint(rep.Node, rep.HintOwner, rep.Key, rep.Set)
		default:
			_, _, err = s.store(rep.Node, rep.Partition).Merge(rep.Key, rep.Set)
		}
		a, more := putReply(p, rep.Node, err)
		if a != nil {
			ans = a
		}
		sends = append(sends, more...)
	}
	if prep != nil {
		if a := putCoordinated(p, s.store(via, route.Partition).Commit(prep)); a != nil {
			ans = a
		}
	}
	a, more := putDeadline(p)
	if a != nil {
		ans = a
	}
	for _, rep := range more {
		if !rep.Local {
			s.t.Fatalf("the deadline sent a replica write %+v", rep)
		}
		s.hint(via, rep.HintOwner, rep.Key, rep.Set)
	}
	if ans == nil {
		s.t.Fatal("put finished without an answer")
	}
	return ans
}

func (s *sim) replicas(key string) map[string]*version.Set {
	out := map[string]*version.Set{}
	p := s.ring.Partition([]byte(key))
	for _, n := range s.ring.Owners(p) {
		set, err := s.store(n, p).Get([]byte(key))
		if err != nil {
			s.t.Fatal(err)
		}
		out[n] = set
	}
	return out
}

func vals(a *GetAnswer) string { return fmt.Sprintf("%q", a.Values) }
