package client

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
)

// Status asks the member named node for its own view and counters (the
// Membership's Stats are node's). Unlike Members, it does not change the
// client's routing view.
func (c *Client) Status(ctx context.Context, node string) (*Membership, error) {
	r, addr, err := askNode[*messages.MembersReply](ctx, c, node, "status", &messages.MembersRequest{})
	if err != nil {
		return nil, err
	}
	return membershipFrom(addr, r)
}

// errorReply is a reply that carries an Error.
type errorReply interface {
	proto.Message
	GetError() *messages.Error
}

// askNode sends req to the member named node and returns its reply (and
// the node's address), or the error: an unknown member (*InvalidError),
// no answer (ErrUnavailable), a reply of another type, or the error the
// reply carries.
func askNode[T errorReply](ctx context.Context, c *Client, node, op string, req proto.Message) (T, string, error) {
	var zero T
	addr, err := c.addrOf(ctx, node)
	if err != nil {
		return zero, "", err
	}
	_, wait, err := deadlines(ctx, c.cfg.Timeout)
	if err != nil {
		return zero, addr, err
	}
	body, err := c.send(ctx, addr, req, wait)
	if err != nil {
		return zero, addr, fmt.Errorf("%w: %s of %s: %w", ErrUnavailable, op, node, err)
	}
	r, err := expect[T](op, addr, body)
	if err != nil {
		return zero, addr, err
	}
	if r.GetError() != nil {
		return zero, addr, fromWire(op, addr, r.GetError())
	}
	return r, addr, nil
}

// FaultComponent is the part of a node InjectFault crashes (the node's
// own vocabulary, remoting.Component).
type FaultComponent = remoting.Component

// Fault components for InjectFault.
const (
	FaultVnode      = remoting.ComponentVnode      // one partition's vnode (give the partition)
	FaultVnodes     = remoting.ComponentVnodes     // the vnode manager (its vnodes restart with it)
	FaultRouter     = remoting.ComponentRouter     // the request router
	FaultMembership = remoting.ComponentMembership // the membership actor
	FaultHints      = remoting.ComponentHints      // the hint dispatcher
	FaultSyncer     = remoting.ComponentSyncer     // the Merkle syncer (anti-entropy)
)

// InjectFault makes a named actor of the member named node panic, so that
// its supervisor restarts it: for testing supervision from outside. The
// node must run with --allow-fault-injection; otherwise, and for an unknown
// component or a partition the node holds no vnode of, it returns an
// *InvalidError naming the field.
func (c *Client) InjectFault(ctx context.Context, node string, component FaultComponent, partition int) error {
	if partition < 0 {
		return invalidf("partition", "partition must not be negative, got %d", partition)
	}
	if !slices.Contains(remoting.Crashable, component) {
		return invalidf("component", "%q is not a component that crashes (%v; storage faults: FailDiskWrites, CorruptKey, CorruptPartition; a node stop: StopNode)", component, remoting.Crashable)
	}
	_, _, err := askNode[*messages.FaultReply](ctx, c, node, "fault injection", &messages.FaultRequest{Component: string(component), Partition: uint32(partition)})
	return err
}

// StopNode asks the named node to stop as a crash would (no leave, no
// handoff) and to start again on its data after down (1 ms to 10 min).
// Only nodes that can restart in process accept it: those of `dynamo dev`
// (otherwise an UNSUPPORTED ServerError); it also needs fault injection
// on. It returns once the node accepted; the node then goes down.
func (c *Client) StopNode(ctx context.Context, node string, down time.Duration) error {
	if down < time.Millisecond || down > remoting.MaxDown {
		return invalidf("down", "a node stop needs a downtime of 1ms to %v, got %v", remoting.MaxDown, down)
	}
	_, _, err := askNode[*messages.FaultReply](ctx, c, node, "node stop", &messages.FaultRequest{Component: string(remoting.ComponentNode), DownMs: uint32(down / time.Millisecond)})
	return err
}

// FailDiskWrites makes the member named node fail every storage write
// with EIO for d (0 ends such a fault at once), each failing write
// returning its error only after a delay drawn from [minDelay, maxDelay]
// (at most 5 s), so that a coordinator's replicas can ack a write before
// its own commit fails. The node must run with --allow-fault-injection.
func (c *Client) FailDiskWrites(ctx context.Context, node string, d, minDelay, maxDelay time.Duration) error {
	switch {
	case d < 0 || d > remoting.MaxDiskFault:
		return invalidf("d", "a disk fault lasts 0 to %v, got %v", remoting.MaxDiskFault, d)
	case minDelay < 0 || maxDelay < minDelay || maxDelay > remoting.MaxDiskFaultDelay:
		return invalidf("delay", "a failing write's delay must satisfy 0 <= min <= max <= %v, got %v and %v", remoting.MaxDiskFaultDelay, minDelay, maxDelay)
	}
	_, _, err := askNode[*messages.FaultReply](ctx, c, node, "disk fault", &messages.FaultRequest{Component: string(remoting.ComponentDisk),
		FailWritesMs: uint32(d / time.Millisecond), WriteDelayMinMs: uint32(minDelay / time.Millisecond), WriteDelayMaxMs: uint32(maxDelay / time.Millisecond)})
	return err
}

// CorruptKey makes the member named node overwrite its stored copy of key
// with garbage, under its running vnode (whose cache forgets it). The node
// must run with --allow-fault-injection and hold a replica of key (an
// *InvalidError naming "partition" otherwise). The request returns once
// the node accepted it; the vnode then corrupts the key if it stores it.
func (c *Client) CorruptKey(ctx context.Context, node string, key []byte) error {
	if len(key) == 0 {
		return invalidf("key", "key must not be empty")
	}
	_, _, err := askNode[*messages.FaultReply](ctx, c, node, "corrupt", &messages.FaultRequest{Component: string(remoting.ComponentCorrupt), Key: key})
	return err
}

// CorruptPartition is CorruptKey for up to keys random keys (1 to 1000)
// of the member's replica of partition.
func (c *Client) CorruptPartition(ctx context.Context, node string, partition uint32, keys int) error {
	if keys < 1 || keys > remoting.MaxCorruptKeys {
		return invalidf("keys", "corrupt 1 to %d keys, got %d", remoting.MaxCorruptKeys, keys)
	}
	_, _, err := askNode[*messages.FaultReply](ctx, c, node, "corrupt", &messages.FaultRequest{Component: string(remoting.ComponentCorrupt), Partition: partition, Keys: uint32(keys)})
	return err
}

// addrOf resolves a member's name to its address through the client's
// view (read afresh when the name is unknown to it).
func (c *Client) addrOf(ctx context.Context, node string) (string, error) {
	if m, ok := c.view.Load().byName[node]; ok && m.Addr != "" {
		return m.Addr, nil
	}
	if _, err := c.Members(ctx); err != nil {
		return "", err
	}
	if m, ok := c.view.Load().byName[node]; ok && m.Addr != "" {
		return m.Addr, nil
	}
	return "", invalidf("node", "no member named %q in the membership (known: %s)", node, c.view.Load().names())
}

// Leave asks the member named node to leave the cluster gracefully: it
// hands its partitions off to their new owners, then leaves and its agent
// exits. It returns the partitions the node holds when it starts leaving.
// Watch Members (or Status of the node) for progress.
func (c *Client) Leave(ctx context.Context, node string) (int, error) {
	r, _, err := askNode[*messages.LeaveReply](ctx, c, node, "leave", &messages.LeaveRequest{})
	if err != nil {
		return 0, err
	}
	return int(r.GetPartitions()), nil
}

// BackgroundAction is what Background does to a node's background work
// (hint delivery, handoffs, anti-entropy exchanges, reap passes).
type BackgroundAction int

// Background actions.
const (
	// BackgroundStatus changes nothing.
	BackgroundStatus BackgroundAction = iota
	// BackgroundPause stops the node's background work: what is in
	// progress stops at its next batch and nothing new starts. Client
	// requests, replication and read repair go on. The pause lasts until
	// BackgroundResume, a Leave of the node or its restart.
	BackgroundPause
	// BackgroundResume lets it run again.
	BackgroundResume
)

func (a BackgroundAction) String() string {
	switch a {
	case BackgroundStatus:
		return "status"
	case BackgroundPause:
		return "pause"
	case BackgroundResume:
		return "resume"
	}
	return fmt.Sprintf("BackgroundAction(%d)", int(a))
}

// Background pauses, resumes (or, with BackgroundStatus, only reports)
// the background work of the member named node, and reports whether it
// is paused afterwards.
func (c *Client) Background(ctx context.Context, node string, action BackgroundAction) (paused bool, err error) {
	var wire messages.BackgroundAction
	switch action {
	case BackgroundStatus:
		wire = messages.BackgroundAction_BACKGROUND_ACTION_STATUS
	case BackgroundPause:
		wire = messages.BackgroundAction_BACKGROUND_ACTION_PAUSE
	case BackgroundResume:
		wire = messages.BackgroundAction_BACKGROUND_ACTION_RESUME
	default:
		return false, invalidf("action", "unknown background action %d (status, pause or resume)", int(action))
	}
	r, _, err := askNode[*messages.BackgroundReply](ctx, c, node, "background "+action.String(), &messages.BackgroundRequest{Action: wire})
	if err != nil {
		return false, err
	}
	return r.GetPaused(), nil
}

// Remove takes the failed member named node out of the ring for good (a
// dead machine): its partitions get new owners, which the surviving
// replicas fill. A member that is up is refused with an *InvalidError
// naming "node": it must Leave, so that its data is handed off.
func (c *Client) Remove(ctx context.Context, node string) error {
	if node == "" {
		return invalidf("node", "node must not be empty")
	}
	_, wait, err := deadlines(ctx, c.cfg.Timeout)
	if err != nil {
		return err
	}
	var last error
	for _, addr := range c.upAddrs(ctx, node) {
		body, err := c.send(ctx, addr, &messages.RemoveRequest{Node: node}, wait)
		if err != nil {
			last = err
			continue
		}
		r, err := expect[*messages.RemoveReply]("remove", addr, body)
		if err != nil {
			return err
		}
		if r.GetError() != nil {
			return fromWire("remove", addr, r.GetError())
		}
		return nil
	}
	return fmt.Errorf("%w: remove %s: no other member answered: %v", ErrUnavailable, node, last)
}

// upAddrs reads the membership afresh and returns the addresses of the up
// members other than except.
func (c *Client) upAddrs(ctx context.Context, except string) []string {
	m, err := c.Members(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, x := range m.Members {
		if x.Name != except && x.State == ring.Up && x.Addr != "" {
			out = append(out, x.Addr)
		}
	}
	return out
}

// Replica is one node's own replica of a key, read directly (no quorum,
// no repair): for inspection and checkers.
type Replica struct {
	Node  string
	Found bool
	// Values are the live siblings; Digest is the canonical hash of the
	// whole stored version set (equal on replicas that hold the same
	// versions).
	Values [][]byte
	Digest [32]byte
}

// ReplicaOf reads the member named node's own replica of key. The node
// must be one of the key's replicas (an *InvalidError naming "partition"
// otherwise).
func (c *Client) ReplicaOf(ctx context.Context, node string, key []byte) (*Replica, error) {
	p := ring.PartitionOf(ring.HashKey(key), c.view.Load().m.Partitions)
	r, _, err := askNode[*messages.ReplicaGetReply](ctx, c, node, "replica read", &messages.ReplicaGetRequest{Partition: p, Key: key})
	if err != nil {
		return nil, err
	}
	out := &Replica{Node: node, Found: r.GetFound()}
	if r.GetFound() {
		set, err := version.FromProto(r.GetSet())
		if err != nil {
			return nil, fmt.Errorf("replica of %s: %w", node, err)
		}
		out.Digest = version.Digest(set)
		live, _ := set.Live(version.ModeSiblings, time.Now().UnixNano())
		for _, l := range live {
			out.Values = append(out.Values, l.Value)
		}
	}
	return out, nil
}

// MerkleRoot returns the member named node's Merkle root of partition (its
// replica's summary: equal roots, equal data).
func (c *Client) MerkleRoot(ctx context.Context, node string, partition uint32) ([]byte, error) {
	r, _, err := askNode[*messages.MerkleHashesReply](ctx, c, node, "Merkle root", &messages.MerkleHashesRequest{Partition: partition, Indices: []uint32{0}})
	if err != nil {
		return nil, err
	}
	return r.GetHashes(), nil
}
