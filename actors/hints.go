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
	"github.com/dynamokv/dynamo/progress"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// HintsConfig configures the hint dispatcher.
type HintsConfig struct {
	// Dispatcher runs the dispatcher's mailbox: the node's
	// remoting.System.Pool. Default nil: protoactor's.
	Dispatcher actor.Dispatcher
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
	// MaxAge bounds how long a hint waits for an owner that is down (or
	// suspected, or absent from the view for less than AbsentGrace): a
	// hint stored longer ago is handed over to the key's current up
	// primaries other than its owner, as a REPLICA_PUT_KIND_HINT merge,
	// and deleted once they acknowledged it; anti-entropy then brings the
	// owner up to date. With no such primary up it stays and is retried.
	// Default 3 h (Cassandra's max_hint_window).
	MaxAge time.Duration
	// MaxBytes bounds the hints held for one owner that is down (storage
	// key plus encoded value): beyond it the oldest are handed over the
	// same way. Default 256 MiB.
	MaxBytes int64
	// AbsentGrace is how long an owner absent from the view (neither a
	// member nor left: removed and forgotten, or reaped by serf; also a
	// down owner this node never knew, as after a restart) is waited for
	// like a down one, counted from when this dispatcher first saw it
	// absent. After it, its hints go to the partitions' current primaries.
	// Default MaxAge.
	AbsentGrace time.Duration
	// Background pauses and resumes this work (BackgroundRequest).
	// Optional: never paused.
	Background *Background
	// Health is the node's failure detector (suspected owners are skipped;
	// owners that time out are reported). Optional.
	Health *Health
	// Counters receives hint counts. Optional.
	Counters *Counters
	// Logger receives delivery progress and failures. Required.
	Logger *slog.Logger

	// now is the clock hints are stamped with and aged by (tests; default
	// time.Now).
	now func() time.Time
	// checkEvery is how often at most the hints of one owner that is
	// waited for are checked against MaxAge and MaxBytes, a scan of them
	// all (tests; default max(Interval, MaxAge/64)).
	checkEvery time.Duration
}

// Hint dispatcher defaults.
const (
	DefaultHintInterval   = 10 * time.Second
	DefaultHintRetryAfter = time.Second
	DefaultHintRate       = 2000
	DefaultHintWindow     = 64
	DefaultHintBatch      = 256
	DefaultHintTimeout    = 5 * time.Second
	DefaultHintMaxAge     = 3 * time.Hour
	DefaultHintMaxBytes   = 256 << 20
)

func (c *HintsConfig) defaults() {
	orDefault(&c.Interval, DefaultHintInterval)
	orDefault(&c.RetryAfter, DefaultHintRetryAfter)
	orDefault(&c.Rate, DefaultHintRate)
	orDefault(&c.Window, DefaultHintWindow)
	orDefault(&c.Batch, DefaultHintBatch)
	orDefault(&c.Timeout, DefaultHintTimeout)
	orDefault(&c.MaxAge, DefaultHintMaxAge)
	orDefault(&c.MaxBytes, DefaultHintMaxBytes)
	orDefault(&c.AbsentGrace, c.MaxAge)
	orDefault(&c.checkEvery, max(c.Interval, c.MaxAge/64))
	if c.now == nil {
		c.now = time.Now
	}
	if c.Counters == nil {
		c.Counters = &Counters{}
	}
}

// orDefault sets *v to d when *v is not positive (a zero config field
// means the default).
func orDefault[T int | int64 | float64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// hintsActor stores the hints this node keeps for other nodes and delivers
// them. It serves ReplicaPutRequest and ReplicaGetRequest envelopes that
// name a hint_owner, and runs one stream per owner with hints:
//
//   - to an owner that is up, a delivery stream: hints are read in
//     (partition, key) order, sent to the owner's vnode as
//     REPLICA_PUT_KIND_HINT merges (idempotent, so a delivery repeated
//     after a crash does no harm), and each is deleted only after its
//     owner acknowledged it and only if it was not merged again meanwhile.
//     A hint whose owner no longer holds its partition goes to the
//     partition's current up primaries instead, and is deleted when all of
//     them acknowledged it; so do all hints of an owner that is no longer
//     a member: left, removed, or absent from the view for AbsentGrace.
//   - for an owner that is waited for (down, suspected, or absent for less
//     than AbsentGrace) and whose hints passed MaxAge or MaxBytes, a
//     handover stream: the hints stored at or before a cutoff go, as the
//     same merges, to the key's current up primaries other than the owner,
//     and each is deleted when all of those (at least one) acknowledged
//     it; with none up it stays for a later check.
//
// Both share one token bucket (HintsConfig.Rate) and a window per stream.
type hintsActor struct {
	cfg      HintsConfig
	store    *hints.Store
	view     *View
	bucket   *hints.Bucket
	streams  map[string]*hintStream
	retry    map[string]time.Time // owner → not before
	checked  map[string]time.Time // owner waited for → bounds not checked again before
	absent   map[string]absence   // owner absent from the view → since when
	wakeT    *time.Timer          // pending hintWake (rate limiter)
	retryT   *time.Timer          // pending retry round
	retrying bool                 // retryT is pending
	gone     bool                 // restarted or stopping: late continuations do nothing
	waking   bool                 // a pump wake-up is scheduled
	nonce    uint64
	// stopTicker ends the periodic round's goroutine.
	stopTicker func()
}

// absence is since when (HintsConfig.now) an owner has been absent from
// the view, and whether the end of its grace was logged.
type absence struct {
	since  time.Time
	logged bool
}

// hintStream is one owner's delivery, or handover, in progress.
type hintStream struct {
	owner    string
	pos      hints.Position
	queue    []hints.Hint
	inflight int
	end      bool // storage has no more hints after pos
	failed   bool // a delivery failed: finish what is in flight, then retry later
	// rerouted: the owner is no longer a member, its hints go to the
	// partitions' current primaries (counted as rerouted).
	rerouted bool
	// handover: the owner is waited for; the hints stored at or before
	// cutoff (Unix ms) go to the other up primaries. Those stored at or
	// before ageCut are past MaxAge, the others beyond MaxBytes.
	handover       bool
	cutoff, ageCut int64
	byAge, bySize  int // handed over by this stream
}

// Internal messages.
type (
	hintTick  struct{} // periodic delivery round
	hintRetry struct{} // a retry round after a failure
	hintWake  struct{} // tokens available again
	hintMore  struct{} // a handover scan read records without a hint to hand over: go on
	crashNow  struct{} // fault injection: panic
)

// HintsProps returns the props of the hint dispatcher.
func HintsProps(cfg HintsConfig) *actor.Props {
	cfg.defaults()
	return actor.PropsFromProducer(func() actor.Actor {
		return &hintsActor{cfg: cfg}
	}, onDispatcher(cfg.Dispatcher)...)
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
		h.noteAbsent()
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
	case *hintMore:
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
	cfg.Now = h.cfg.now
	s, err := hints.Open(h.cfg.Engine, cfg)
	if err != nil {
		panic(fmt.Errorf("hints: open: %w", err)) // the supervisor restarts us
	}
	h.store = s
	h.nonce = rand.Uint64()
	h.streams = map[string]*hintStream{}
	h.retry = map[string]time.Time{}
	h.checked = map[string]time.Time{}
	h.absent = map[string]absence{}
	h.bucket = hints.NewBucket(h.cfg.Rate, max(1, min(h.cfg.Window, int(h.cfg.Rate))))
	h.publish()
	if n := s.Len(); n > 0 {
		h.cfg.Logger.Info("hints held for other nodes", "hints", n, "owners", len(s.Owners()), "bytes", s.Stats().Bytes)
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
	owners := h.store.Owners()
	counts := make([]progress.Count, len(owners))
	for i, o := range owners {
		counts[i] = progress.Count{Target: o.Owner, Items: o.Hints}
	}
	h.cfg.Counters.HintTargets.Pending(counts)
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

// noteAbsent keeps, for every owner with hints that the view neither lists
// as a member nor as left, since when this dispatcher has seen it absent.
// An owner absent when the dispatcher starts is absent from then: serf
// forgets a failed member when every node that knew it restarted, so a
// node started while the owner is down may not know it, and waits for it
// the full AbsentGrace.
func (h *hintsActor) noteAbsent() {
	if h.view == nil {
		return
	}
	now := h.cfg.now()
	keep := map[string]absence{}
	for _, oc := range h.store.Owners() {
		if h.view.Absent(oc.Owner) {
			a, ok := h.absent[oc.Owner]
			if !ok {
				a.since = now
			}
			keep[oc.Owner] = a
		}
	}
	h.absent = keep
}

// ownerState is what the dispatcher does with an owner's hints now.
type ownerState int

const (
	ownerUp        ownerState = iota // deliver (to it, or to the current primaries where it is not one)
	ownerGone                        // no longer a member: deliver to the current primaries
	ownerWaited                      // down, or absent for less than AbsentGrace: keep, within the bounds
	ownerSuspected                   // up, but this node suspects it for a moment: keep, within the bounds
)

func (h *hintsActor) ownerState(owner string) ownerState {
	v := h.view
	if v.Left[owner] {
		return ownerGone
	}
	m, member := v.Ring.Member(owner)
	switch {
	case !member:
		if a, ok := h.absent[owner]; ok && h.cfg.now().Sub(a.since) >= h.cfg.AbsentGrace {
			return ownerGone
		}
		return ownerWaited
	case m.State == ring.Down:
		return ownerWaited
	case h.cfg.Health.Down(owner):
		return ownerSuspected
	}
	return ownerUp
}

// round starts a stream for every owner with hints that has none running
// and is not waiting out a retry: a delivery stream to an owner that is up
// or gone, a handover stream for one that is waited for and whose hints
// passed a bound.
func (h *hintsActor) round(ctx actor.Context) {
	if h.view == nil {
		return
	}
	h.noteAbsent()
	now := time.Now()
	for o, t := range h.checked {
		if now.After(t) {
			delete(h.checked, o)
		}
	}
	for _, oc := range h.store.Owners() {
		if _, running := h.streams[oc.Owner]; running || now.Before(h.retry[oc.Owner]) {
			continue
		}
		switch h.ownerState(oc.Owner) {
		case ownerUp:
			h.streams[oc.Owner] = &hintStream{owner: oc.Owner}
		case ownerGone:
			if a, ok := h.absent[oc.Owner]; ok && !a.logged {
				a.logged = true
				h.absent[oc.Owner] = a
				h.cfg.Logger.Info("hints: owner absent from the view past the grace; its hints go to the current primaries",
					"owner", oc.Owner, "hints", oc.Hints, "absent_since", a.since, "grace", h.cfg.AbsentGrace)
			}
			h.streams[oc.Owner] = &hintStream{owner: oc.Owner, rerouted: true}
		case ownerSuspected:
			h.retryLater(ctx)
			fallthrough
		case ownerWaited:
			if s := h.handoverStream(oc.Owner, now); s != nil {
				h.streams[oc.Owner] = s
			}
		}
	}
	h.pumpAll(ctx)
}

// handoverStream returns a handover stream for owner when its hints passed
// MaxAge or MaxBytes, nil otherwise or when they were checked less than
// checkEvery ago (a handover scans all of owner's hints).
func (h *hintsActor) handoverStream(owner string, now time.Time) *hintStream {
	if _, recent := h.checked[owner]; recent {
		return nil
	}
	nowMs := h.cfg.now().UnixMilli()
	ageCut := nowMs - h.cfg.MaxAge.Milliseconds()
	cutoff, due := int64(0), false
	if oldest, ok := h.store.OldestMs(owner); ok && oldest <= ageCut {
		cutoff, due = ageCut, true
	}
	if sc, over := h.store.SizeCutoff(owner, h.cfg.MaxBytes); over && (!due || sc > cutoff) {
		cutoff, due = sc, true
	}
	if !due {
		return nil
	}
	h.checked[owner] = now.Add(h.cfg.checkEvery)
	return &hintStream{owner: owner, handover: true, cutoff: cutoff, ageCut: ageCut}
}

func (h *hintsActor) pumpAll(ctx actor.Context) {
	owners := make([]string, 0, len(h.streams))
	for o := range h.streams {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	for _, o := range owners {
		if s := h.streams[o]; s != nil {
			h.pump(ctx, s)
		}
	}
}

// pump sends as many of s's hints as the window and the rate allow.
func (h *hintsActor) pump(ctx actor.Context, s *hintStream) {
	for !s.failed && s.inflight < h.cfg.Window {
		if s.handover && (len(s.queue) > 0 || !s.end) {
			if st := h.ownerState(s.owner); st == ownerUp || st == ownerGone {
				// The owner is back (or gone for good): its hints go to
				// it (or to the current primaries) by delivery instead,
				// from the round that finish asks for.
				s.end, s.queue = true, nil
				break
			}
		}
		if len(s.queue) == 0 && !s.end {
			if !h.refill(ctx, s) {
				break
			}
			continue
		}
		if len(s.queue) == 0 {
			break
		}
		hint := s.queue[0]
		var targets []string
		if hint.Set != nil {
			if s.handover {
				targets = h.handoverTargets(hint)
			} else {
				targets = h.targets(hint)
			}
			if len(targets) == 0 {
				s.queue = s.queue[1:] // no up primary to take it: kept for a later round
				continue
			}
		}
		if got, wait := h.cfg.Background.take(h.bucket, time.Now(), 1); got == 0 {
			h.wakeLater(ctx, wait)
			return
		}
		s.queue = s.queue[1:]
		h.deliver(ctx, s, hint, targets)
	}
	h.finish(ctx, s)
}

// refill reads s's next hints from the store. It reports false when pump
// must stop: the store failed, or a handover scan read records without
// finding a hint to hand over (it goes on in a message of its own, so
// that the dispatcher keeps serving hints meanwhile).
func (h *hintsActor) refill(ctx actor.Context, s *hintStream) bool {
	var (
		batch []hints.Hint
		pos   hints.Position
		done  bool
		err   error
	)
	if s.handover {
		batch, pos, done, err = h.store.NextStoredBy(s.owner, s.pos, h.cfg.Batch, s.cutoff)
	} else {
		batch, pos, err = h.store.Next(s.owner, s.pos, h.cfg.Batch)
		done = len(batch) == 0
	}
	if err != nil {
		h.cfg.Logger.Error("hints: cannot read the store", "owner", s.owner, "err", err)
		s.failed = true
		return false
	}
	s.queue, s.pos, s.end = batch, pos, done
	if len(batch) == 0 && !s.end {
		ctx.Send(ctx.Self(), &hintMore{})
		return false
	}
	return true
}

// finish ends s once nothing is in flight and it failed or reached the end.
func (h *hintsActor) finish(ctx actor.Context, s *hintStream) {
	if s.inflight > 0 || (!s.failed && (len(s.queue) > 0 || !s.end)) {
		return
	}
	delete(h.streams, s.owner)
	if s.handover && !s.failed {
		if st := h.ownerState(s.owner); st == ownerUp || st == ownerGone {
			ctx.Send(ctx.Self(), &hintTick{}) // deliver the rest now, not at the next tick
		}
	}
	if s.byAge+s.bySize > 0 {
		h.cfg.Logger.Info("hints: handed over to the current primaries other than their owner (past --hint-max-age or --hint-max-bytes); anti-entropy brings the owner up to date",
			"owner", s.owner, "age", s.byAge, "size", s.bySize, "left", h.store.Bytes(s.owner))
	}
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

func (h *hintsActor) wakeLater(ctx actor.Context, wait time.Duration) {
	if h.waking {
		return
	}
	h.waking = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	h.wakeT = time.AfterFunc(wait, func() { root.Send(self, &hintWake{}) })
}

// primaries are the current primaries of the hint's partition.
func (h *hintsActor) primaries(hint hints.Hint) []string {
	r := h.view.Ring
	pref := r.PreferenceList(hint.Partition)
	return pref[:min(r.N(), len(pref))]
}

// targets are where a delivered hint goes: its owner while the owner is a
// primary of the partition, else (the ring changed while the owner was
// away, or the owner left, was removed or stayed absent) the partition's
// current up primaries. Only called for an owner that is up or gone.
func (h *hintsActor) targets(hint hints.Hint) []string {
	primaries := h.primaries(hint)
	if slices.Contains(primaries, hint.Owner) {
		return []string{hint.Owner}
	}
	var out []string
	for _, p := range primaries {
		if m, ok := h.view.Ring.Member(p); ok && m.State == ring.Up {
			out = append(out, p)
		}
	}
	return out
}

// handoverTargets are where a hint past a bound goes: the partition's
// current primaries other than its owner that are up and not suspected.
func (h *hintsActor) handoverTargets(hint hints.Hint) []string {
	var out []string
	for _, p := range h.primaries(hint) {
		if m, ok := h.view.Ring.Member(p); ok && m.State == ring.Up && p != hint.Owner && !h.cfg.Health.Down(p) {
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
					err = remoting.ErrorOf(r.GetError())
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
				h.cfg.Logger.Warn("hint delivery failed; retrying later", "owner", hint.Owner, "to", node, "partition", hint.Partition, "handover", s.handover, "err", err)
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
				h.count(s, hint)
			}
			h.publish()
			h.pump(ctx, s)
		})
	}
}

// count counts a hint that s delivered, or handed over, and deleted.
func (h *hintsActor) count(s *hintStream, hint hints.Hint) {
	c := h.cfg.Counters
	switch {
	case s.handover && hint.StoredMs <= s.ageCut:
		s.byAge++
		c.HintsExpiredAge.Add(1)
	case s.handover:
		s.bySize++
		c.HintsExpiredSize.Add(1)
	default:
		c.HintsDelivered.Add(1)
		c.HintTargets.Delivered(s.owner, 1, time.Now().UnixMilli())
		if s.rerouted {
			c.HintsRerouted.Add(1)
		}
	}
}
