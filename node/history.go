package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dynamokv/dynamo/actors"
	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/status"
	"github.com/dynamokv/dynamo/version"
)

// HistoryLength is how many samples the status page's charts cover.
const HistoryLength = 120

// DefaultHistoryInterval: see Config.HistoryInterval.
const DefaultHistoryInterval = 5 * time.Second

// history is the node's samples, written by sampleHistory and read by the
// HTTP API.
type history struct {
	mu sync.Mutex
	h  *status.History
}

// History is GET /status/history: the node's samples as points.
func (n *Node) History() status.HistoryDoc {
	n.history.mu.Lock()
	defer n.history.mu.Unlock()
	if n.history.h == nil {
		return status.HistoryDoc{Node: n.cfg.Name, Points: []status.Point{}}
	}
	return n.history.h.Doc(n.cfg.Name)
}

// sampleHistory samples every HistoryInterval until the node stops.
func (n *Node) sampleHistory() {
	every := n.cfg.HistoryInterval
	if every <= 0 {
		every = DefaultHistoryInterval
	}
	n.history.mu.Lock()
	n.history.h = status.NewHistory(HistoryLength, actors.LatencyBuckets)
	n.history.mu.Unlock()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s := n.sample(every)
		n.history.mu.Lock()
		n.history.h.Add(s)
		n.history.mu.Unlock()
		select {
		case <-n.quit:
			return
		case <-t.C:
		}
	}
}

// sample reads the node's counters, measures its storage, and asks every
// member that is up for its keys and storage bytes, waiting at most wait.
func (n *Node) sample(wait time.Duration) status.Sample {
	if b, err := n.diskUsage(); err == nil {
		n.counters.StorageBytes.Store(b)
	}
	s := status.Sample{At: time.Now(), Requests: map[string]status.OpCounts{},
		HintsPending: uint64(max(0, n.counters.HintsPending.Load())), Repaired: n.counters.AntiEntropyKeysRepaired.Load(),
		Nodes: map[string]status.NodeGauges{}}
	for _, rs := range n.counters.Requests.Snapshot() {
		c := s.Requests[rs.Op]
		c.Count += rs.Count
		if rs.Outcome != actors.OutcomeOK && rs.Outcome != actors.OutcomeNotFound && rs.Outcome != messages.ErrorCode_ERROR_CODE_EXISTS.Slug() {
			c.Errors += rs.Count
		}
		if c.Buckets == nil {
			c.Buckets = make([]uint64, len(rs.Buckets))
		}
		for i, b := range rs.Buckets {
			c.Buckets[i] += b
		}
		s.Requests[rs.Op] = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(wait, 2*time.Second))
	defer cancel()
	m, err := n.membership(ctx)
	if err != nil {
		return s
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, mem := range m.Members {
		if mem.State != ring.Up {
			continue
		}
		wg.Add(1)
		go func(name, addr string) {
			defer wg.Done()
			r, err := n.askRouter(ctx, addr, &messages.MembersRequest{})
			if mr, ok := r.(*messages.MembersReply); err == nil && ok {
				mu.Lock()
				s.Nodes[name] = status.NodeGauges{Keys: mr.GetStats().GetKeys(), Bytes: mr.GetStats().GetStorageBytes()}
				mu.Unlock()
			}
		}(mem.Name, mem.Addr)
	}
	wg.Wait()
	return s
}

// membership is this node's membership, as its router answers it.
func (n *Node) membership(ctx context.Context) (*client.Membership, error) {
	r, err := n.Ask(ctx, &messages.MembersRequest{})
	if err != nil {
		return nil, err
	}
	mr, ok := r.(*messages.MembersReply)
	if !ok {
		return nil, fmt.Errorf("node: the router answered %T to a members request", r)
	}
	return client.MembershipFromReply(n.sys.Address(), mr)
}

// Inspect reads key's replica on each of its primary owners (GET /inspect).
func (n *Node) Inspect(ctx context.Context, key []byte) (status.Inspection, error) {
	m, err := n.membership(ctx)
	if err != nil {
		return status.Inspection{}, err
	}
	rg, err := m.Ring()
	if err != nil {
		return status.Inspection{}, err
	}
	p := ring.PartitionOf(ring.HashKey(key), m.Partitions)
	owners := rg.Owners(p)
	reads := make([]status.ReplicaRead, len(owners))
	var wg sync.WaitGroup
	for i, o := range owners {
		reads[i] = status.ReplicaRead{Node: o, State: "unknown"}
		var addr string
		for _, mem := range m.Members {
			if mem.Name == o {
				addr, reads[i].State = mem.Addr, mem.State.String()
			}
		}
		if addr == "" {
			reads[i].Err = fmt.Errorf("%s is not in this node's membership", o)
			continue
		}
		wg.Add(1)
		go func(r *status.ReplicaRead) {
			defer wg.Done()
			reply, err := n.askRouter(ctx, addr, &messages.ReplicaGetRequest{Partition: p, Key: key})
			gr, ok := reply.(*messages.ReplicaGetReply)
			switch {
			case err != nil:
				r.Err = fmt.Errorf("no answer (%s): %v", r.State, err)
			case !ok:
				r.Err = fmt.Errorf("%s answered %T", r.Node, reply)
			case gr.GetError() != nil:
				r.Err = remoting.ErrorOf(gr.GetError())
			case gr.GetFound():
				r.Found = true
				if r.Set, err = version.FromProto(gr.GetSet()); err != nil {
					r.Err = err
				}
			}
		}(&reads[i])
	}
	wg.Wait()
	return status.Inspect(key, p, reads, time.Now().UnixNano()), nil
}

// Ready reports whether the cluster counts this node in (GET /ready): it
// is alone in its membership, or a member it sees up lists it up at its
// own actor address. A node restarted on a new address is not ready until
// its peers have taken the new address: until then requests they
// coordinate count it down.
func (n *Node) Ready(ctx context.Context) error {
	m, err := n.membership(ctx)
	if err != nil {
		return err
	}
	self := n.ActorAddr()
	asked := 0
	var last error
	for _, mem := range m.Members {
		if mem.Name == n.cfg.Name || mem.State != ring.Up || asked == 3 {
			continue
		}
		asked++
		r, err := n.askRouter(ctx, mem.Addr, &messages.MembersRequest{})
		mr, ok := r.(*messages.MembersReply)
		if err != nil || !ok {
			last = fmt.Errorf("%s did not answer: %v", mem.Name, err)
			continue
		}
		theirs, err := client.MembershipFromReply(mem.Addr, mr)
		if err != nil {
			last = err
			continue
		}
		for _, me := range theirs.Members {
			if me.Name == n.cfg.Name && me.State == ring.Up && me.Addr == self {
				return nil
			}
		}
		last = fmt.Errorf("%s does not list this node up at %s yet", mem.Name, self)
	}
	if asked == 0 {
		return nil // alone
	}
	return last
}
