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
	clock   int64
}

func newSim(t *testing.T, nodes int) *sim {
	t.Helper()
	r, err := ring.New(ring.Config{Partitions: 16, N: 3}, ring.Nodes(nodes))
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{t: t, ring: r, stores: map[string]map[uint32]*vnode.Store{}, engines: map[string]storage.Engine{},
		stopped: map[string]bool{}, down: map[string]bool{}}
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
		st, err = vnode.Open(s.engines[node], vnode.DefaultConfig(p, 16, node+"@1"))
		if err != nil {
			s.t.Fatal(err)
		}
		s.stores[node][p] = st
	}
	return st
}

func (s *sim) route(key string) Route {
	return RouteKey(s.ring, []byte(key), func(n string) bool { return s.down[n] })
}

func (s *sim) get(via, key string, r int) *GetAnswer {
	s.t.Helper()
	g, reads, err := NewGet(s.route(key), []byte(key), GetOptions{R: r})
	if err != nil {
		return &GetAnswer{Err: err}
	}
	var ans *GetAnswer
	var repairs []Repair
	for _, rd := range reads {
		if s.stopped[rd.Node] {
			continue
		}
		set, err := s.store(rd.Node, rd.Partition).Get(rd.Key)
		a, rp := g.Reply(rd.Node, set != nil, set, err)
		if a != nil {
			ans = a
		}
		repairs = append(repairs, rp...)
	}
	if !g.Done() {
		a, rp := g.Deadline()
		if a != nil {
			ans = a
		}
		repairs = append(repairs, rp...)
	}
	for _, rp := range repairs {
		if !s.stopped[rp.Node] {
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
	p, forward, err := NewPut(route, via, []byte(key), PutOptions{W: w})
	if err != nil {
		return &PutAnswer{Err: err}
	}
	if forward != "" {
		if p, forward, err = NewPut(route, forward, []byte(key), PutOptions{W: w}); err != nil || forward != "" {
			s.t.Fatalf("forwarded put did not land on a primary: %v %q", err, forward)
		}
		via = p.self
	}
	clock, err := version.DecodeContext(ctx)
	if err != nil {
		return &PutAnswer{Err: err}
	}
	wr.Timestamp = s.clock
	set, err := s.store(via, route.Partition).Coordinate([]byte(key), clock, wr, s.clock)
	ans, sends := p.Coordinated(set, err)
	for _, rep := range sends {
		if s.stopped[rep.Node] {
			continue
		}
		_, _, err := s.store(rep.Node, rep.Partition).Merge(rep.Key, rep.Set)
		if a := p.Reply(rep.Node, err); a != nil {
			ans = a
		}
	}
	if a := p.Deadline(); a != nil {
		ans = a
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
