package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/hints"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// HintsName is the hint dispatcher: fallbacks and coordinators send it the
// hints they keep, reads ask it for them, and it delivers them to their
// owners.
const HintsName = SupervisorName + "/" + hintsChild

const hintsChild = "hints"

// HintsConfig configures the hint dispatcher.
type HintsConfig struct {
	// Engine holds the hints (storage.KeyspaceHints, apart from the
	// node's own data).
	Engine storage.Engine
	// Self is this node's name.
	Self string
	// NoSync turns off fsync per hint (tests and benchmarks only).
	NoSync bool
	// Interval is how often the dispatcher retries delivery to every owner
	// that is up, besides delivering at once when an owner recovers.
	// Default 10 s.
	Interval time.Duration
	// RetryAfter is how soon delivery to an owner is retried after it
	// failed (the owner is starting, or timed out). Default 1 s.
	RetryAfter time.Duration
	// Rate bounds delivery, in hints per second for the whole node, so a
	// returning node is not flooded (the hint storms of Cassandra and
	// Scylla). Default 2000.
	Rate float64
	// Window is how many hints may be in flight at once. Default 64.
	Window int
	// Batch is how many hints are read from storage at a time. Default 256.
	Batch int
	// Timeout bounds one delivery. Default 5 s.
	Timeout time.Duration
	// Health is the node's failure detector (suspected owners are skipped;
	// owners that time out are reported). Optional.
	Health *Health
	// Counters receives hint counts. Optional.
	Counters *Counters
	// Logger receives delivery progress and failures. Required.
	Logger *slog.Logger
}

// Hint dispatcher defaults.
const (
	DefaultHintInterval   = 10 * time.Second
	DefaultHintRetryAfter = time.Second
	DefaultHintRate       = 2000
	DefaultHintWindow     = 64
	DefaultHintBatch      = 256
	DefaultHintTimeout    = 5 * time.Second
)

func (c *HintsConfig) defaults() {
	orDefault(&c.Interval, DefaultHintInterval)
	orDefault(&c.RetryAfter, DefaultHintRetryAfter)
	orDefault(&c.Rate, DefaultHintRate)
	orDefault(&c.Window, DefaultHintWindow)
	orDefault(&c.Batch, DefaultHintBatch)
	orDefault(&c.Timeout, DefaultHintTimeout)
	if c.Counters == nil {
		c.Counters = &Counters{}
	}
}

// orDefault sets *v to d when *v is not positive (a zero config field
// means the default).
func orDefault[T int | float64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// hintsActor stores the hints this node keeps for other nodes and delivers
// them. It serves ReplicaPutRequest and ReplicaGetRequest envelopes that
// name a hint_owner, and runs one delivery stream per owner that is up:
// hints are read in (partition, key) order, sent to the owner's vnode as
// REPLICA_PUT_KIND_HINT merges (idempotent, so a delivery repeated after a
// crash does no harm), and each is deleted only after its owner
// acknowledged it and only if it was not merged again meanwhile. A hint
// whose owner no longer holds its partition goes to the partition's current
// primaries instead, and is deleted when all of them acknowledged it.
type hintsActor struct {
	cfg      HintsConfig
	store    *hints.Store
	view     *View
	bucket   *hints.Bucket
	streams  map[string]*hintStream
	retry    map[string]time.Time // owner → not before
	wakeT    *time.Timer          // pending hintWake (rate limiter)
	retryT   *time.Timer          // pending retry round
	retrying bool                 // retryT is pending
	gone     bool                 // restarted or stopping: late continuations do nothing
	waking   bool                 // a pump wake-up is scheduled
	nonce    uint64
	// stopTicker ends the periodic round's goroutine.
	stopTicker func()
}

// hintStream is one owner's delivery in progress.
type hintStream struct {
	owner    string
	pos      hints.Position
	queue    []hints.Hint
	inflight int
	end      bool // storage has no more hints after pos
	failed   bool // a delivery failed: finish what is in flight, then retry later
}

// Internal messages.
type (
	hintTick  struct{} // periodic delivery round
	hintRetry struct{} // a retry round after a failure
	hintWake  struct{} // tokens available again
	crashNow  struct{} // fault injection: panic
)

// HintsProps returns the props of the hint dispatcher.
func HintsProps(cfg HintsConfig) *actor.Props {
	cfg.defaults()
	return actor.PropsFromProducer(func() actor.Actor {
		return &hintsActor{cfg: cfg}
	}, actor.WithDispatcher(pooled))
}

func (h *hintsActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		h.start(ctx)
	case *actor.Restarting, *actor.Stopping:
		if h.gone {
			return
		}
		h.gone = true
		for _, t := range []*time.Timer{h.wakeT, h.retryT} {
			if t != nil {
				t.Stop()
			}
		}
		if h.stopTicker != nil {
			h.stopTicker()
		}
	case *View:
		old := h.view
		h.view = m
		if old == nil || h.recovered(old, m) {
			h.round(ctx)
		}
	case *hintTick:
		h.round(ctx)
	case *hintRetry:
		h.retrying = false
		h.round(ctx)
	case *hintWake:
		h.waking = false
		h.pumpAll(ctx)
	case *crashNow:
		panic("fault injection: hint dispatcher crash requested")
	case *messages.Envelope:
		// A request with a sender is a fallback write (it counts toward W:
		// fsync before the ack); one without is a coordinator's own hint or
		// a read repair, which nobody waits for: written without fsync, it
		// survives a crash of this process, not a power loss.
		reply := h.serve(m, ctx.Sender() != nil)
		if ctx.Sender() != nil {
			ctx.Respond(reply)
		}
	}
}

func (h *hintsActor) start(ctx actor.Context) {
	cfg := hints.DefaultConfig()
	cfg.Sync = !h.cfg.NoSync
	s, err := hints.Open(h.cfg.Engine, cfg)
	if err != nil {
		panic(fmt.Errorf("hints: open: %w", err)) // the supervisor restarts us
	}
	h.store = s
	h.nonce = rand.Uint64()
	h.streams = map[string]*hintStream{}
	h.retry = map[string]time.Time{}
	h.bucket = hints.NewBucket(h.cfg.Rate, max(1, min(h.cfg.Window, int(h.cfg.Rate))))
	h.publish()
	if n := s.Len(); n > 0 {
		h.cfg.Logger.Info("hints held for other nodes", "hints", n, "owners", len(s.Owners()))
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	t := time.NewTicker(h.cfg.Interval)
	stop := make(chan struct{})
	go func() {
		defer t.Stop()
		for {
			select {
			case <-t.C:
				root.Send(self, &hintTick{})
			case <-stop:
				return
			}
		}
	}()
	h.stopTicker = func() { close(stop) }
	askView(ctx)
}

func (h *hintsActor) publish() {
	h.cfg.Counters.HintsPending.Store(int64(h.store.Len()))
}

// serve stores or reads a hint.
func (h *hintsActor) serve(env *messages.Envelope, sync bool) *messages.Envelope {
	body, err := messages.Open(env)
	if err != nil {
		return messages.Unsupported(env)
	}
	id := env.GetRequestId()
	switch req := body.(type) {
	case *messages.ReplicaPutRequest:
		set, err := version.FromProto(req.GetSet())
		if err == nil {
			_, err = h.store.PutWith(req.GetHintOwner(), req.GetPartition(), req.GetKey(), set, storage.WriteOptions{Sync: sync && !h.cfg.NoSync})
			if err == nil {
				h.cfg.Counters.HintsStored.Add(1)
			}
			h.publish()
		}
		if err != nil {
			h.cfg.Logger.Error("hint not stored", "owner", req.GetHintOwner(), "partition", req.GetPartition(), "err", err)
		}
		return messages.Wrap(id, &messages.ReplicaPutReply{Partition: req.GetPartition(), Node: h.cfg.Self, Error: toError(err)})
	case *messages.ReplicaGetRequest:
		set, err := h.store.Get(req.GetHintOwner(), req.GetPartition(), req.GetKey())
		reply := &messages.ReplicaGetReply{Partition: req.GetPartition(), Node: h.cfg.Self, Error: toError(err)}
		if set != nil {
			reply.Found, reply.Set = true, version.ToProto(set)
		}
		return messages.Wrap(id, reply)
	}
	return messages.Wrap(id, &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED,
		Message: fmt.Sprintf("the hint dispatcher serves replica get and put, not %s", body.ProtoReflect().Descriptor().Name())})
}

// recovered reports whether an owner the store has hints for went from
// down (or absent) in old to up in cur, or left (its hints can go to the
// new owners).
func (h *hintsActor) recovered(old, cur *View) bool {
	for _, oc := range h.store.Owners() {
		if (!cur.Down(oc.Owner) && old.Down(oc.Owner)) || (cur.Left[oc.Owner] && !old.Left[oc.Owner]) {
			return true
		}
	}
	return false
}

// round starts a stream for every owner with hints that has none running
// and is not waiting out a retry.
func (h *hintsActor) round(ctx actor.Context) {
	if h.view == nil {
		return
	}
	now := time.Now()
	for _, oc := range h.store.Owners() {
		if _, running := h.streams[oc.Owner]; running || now.Before(h.retry[oc.Owner]) {
			continue
		}
		// Only to an owner this node sees up: a down one keeps its hints,
		// and so does one absent from the view (serf forgets failed
		// members when every node that knew them restarted; the owner
		// may come back at any time). An owner that left or was removed
		// is gone for good: its hints go to the partitions' current
		// owners (targets).
		if h.view.Down(oc.Owner) && !h.view.Left[oc.Owner] {
			continue
		}
		if h.cfg.Health.Down(oc.Owner) {
			h.retryLater(ctx) // up, but this node suspects it for a moment
			continue
		}
		h.streams[oc.Owner] = &hintStream{owner: oc.Owner}
	}
	h.pumpAll(ctx)
}

func (h *hintsActor) pumpAll(ctx actor.Context) {
	owners := make([]string, 0, len(h.streams))
	for o := range h.streams {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	for _, o := range owners {
		h.pump(ctx, h.streams[o])
	}
}

// pump sends as many of s's hints as the window and the rate allow.
func (h *hintsActor) pump(ctx actor.Context, s *hintStream) {
	for !s.failed && s.inflight < h.cfg.Window {
		if len(s.queue) == 0 && !s.end {
			batch, pos, err := h.store.Next(s.owner, s.pos, h.cfg.Batch)
			if err != nil {
				h.cfg.Logger.Error("hints: cannot read the store", "owner", s.owner, "err", err)
				s.failed = true
				break
			}
			s.queue, s.pos, s.end = batch, pos, len(batch) == 0
		}
		if len(s.queue) == 0 {
			break
		}
		hint := s.queue[0]
		var targets []string
		if hint.Set != nil {
			if targets = h.targets(hint); len(targets) == 0 {
				s.queue = s.queue[1:] // no up primary to take it: kept for a later round
				continue
			}
		}
		if h.bucket.Take(time.Now(), 1) == 0 {
			h.wakeLater(ctx)
			return
		}
		s.queue = s.queue[1:]
		h.deliver(ctx, s, hint, targets)
	}
	h.finish(ctx, s)
}

// finish ends s once nothing is in flight and it failed or reached the end.
func (h *hintsActor) finish(ctx actor.Context, s *hintStream) {
	if s.inflight > 0 || (!s.failed && (len(s.queue) > 0 || !s.end)) {
		return
	}
	delete(h.streams, s.owner)
	if s.failed {
		h.retry[s.owner] = time.Now().Add(h.cfg.RetryAfter)
		h.retryLater(ctx)
	}
}

// retryLater schedules one retry round RetryAfter from now (one at a time:
// a round serves every owner).
func (h *hintsActor) retryLater(ctx actor.Context) {
	if h.retrying {
		return
	}
	h.retrying = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	h.retryT = time.AfterFunc(h.cfg.RetryAfter, func() { root.Send(self, &hintRetry{}) })
}

func (h *hintsActor) wakeLater(ctx actor.Context) {
	if h.waking {
		return
	}
	h.waking = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	h.wakeT = time.AfterFunc(max(h.bucket.Wait(time.Now()), time.Millisecond), func() { root.Send(self, &hintWake{}) })
}

// targets are where a hint goes: its owner while the owner is a primary of
// the partition, else (the ring changed while the owner was away, or the
// owner left or was removed) the partition's current up primaries. Only
// called for an owner that is an up member or has left.
func (h *hintsActor) targets(hint hints.Hint) []string {
	r := h.view.Ring
	pref := r.PreferenceList(hint.Partition)
	primaries := pref[:min(r.N(), len(pref))]
	if slices.Contains(primaries, hint.Owner) {
		return []string{hint.Owner}
	}
	var out []string
	for _, p := range primaries {
		if m, ok := r.Member(p); ok && m.State == ring.Up {
			out = append(out, p)
		}
	}
	return out
}

// deliver sends one hint to its targets and deletes it once all acked.
func (h *hintsActor) deliver(ctx actor.Context, s *hintStream, hint hints.Hint, targets []string) {
	if hint.Set == nil {
		// A corrupt record cannot be delivered; anti-entropy repairs the
		// owner from the other replicas.
		if _, err := h.store.Delete(hint); err == nil {
			h.cfg.Logger.Warn("hints: dropped a corrupt hint", "owner", hint.Owner, "partition", hint.Partition)
		}
		h.publish()
		return
	}
	s.inflight++
	left, failed := len(targets), false
	for _, node := range targets {
		addr := h.view.Addr(node)
		h.nonce++
		env := messages.Wrap(h.nonce, &messages.ReplicaPutRequest{
			Partition: hint.Partition, Key: hint.Key, Set: version.ToProto(hint.Set),
			Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_HINT,
		})
		ask(ctx, vnodePID(addr, hint.Partition), env, h.cfg.Timeout, func(reply *messages.Envelope, err error) {
			if h.gone {
				return
			}
			if err == nil {
				if r := reply.GetReplicaPutReply(); r == nil {
					err = fmt.Errorf("actors: reply is not a replica write")
				} else {
					err = errOf(r.GetError())
				}
			}
			switch {
			case err == nil:
				h.cfg.Health.Succeeded(node)
			case errors.Is(err, errNoReply):
				h.cfg.Health.Failed(node)
			}
			if err != nil && !failed {
				failed = true
				h.cfg.Logger.Warn("hint delivery failed; retrying later", "owner", hint.Owner, "to", node, "partition", hint.Partition, "err", err)
			}
			if left--; left > 0 {
				return
			}
			s.inflight--
			if failed {
				s.failed = true
			} else if deleted, err := h.store.Delete(hint); err != nil {
				h.cfg.Logger.Error("hints: cannot delete a delivered hint (it will be delivered again)", "err", err)
			} else if deleted {
				h.cfg.Counters.HintsDelivered.Add(1)
			}
			h.publish()
			h.pump(ctx, s)
		})
	}
}
