package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/reap"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/version"
	"github.com/dynamokv/dynamo/vnode"
	"google.golang.org/protobuf/proto"
)

// Reap passes (docs/design.md 9b), run by the Merkle syncer in turn with
// exchanges and handoffs. A partition's first primary coordinates them,
// while every primary is up:
//
//  1. its vnode lists up to Batch candidates (reapList: old tombstones, long
//     clocks), resuming where the partition's last pass stopped;
//  2. every other primary's vnode says which it holds with exactly the same
//     digest, and which it has nothing of, and names its retired
//     incarnations (ReapCheckRequest);
//  3. reap.Plan keeps what every primary holds identically (a dead key
//     also where some have nothing of it), and every primary applies it
//     only if it still stores the checked digest (ReapRequest): dead keys
//     deleted, clocks pruned.
//
// A primary that misses a reap keeps the tombstone (or the unpruned
// clock); a later pass reaps it there, the others having nothing of it.
// Anti-entropy gives a dead key back only to the first primary, when it
// is the one that lacks it (antientropy.Resolve).

// reapCursor is a partition's progress through its keys.
type reapCursor struct {
	after []byte    // the last key listed; nil: start at the first
	due   time.Time // no pass before
}

// reapPass is the pass in progress.
type reapPass struct {
	partition uint32
	owners    []string
	from      []byte // the cursor the pass started at (restored on failure)
	list      vnode.ReapList
	answers   []reap.Answer
	pending   int
	tokens    int  // rate tokens taken for the check
	waking    bool // a rate-limiter wake-up is pending
	done      bool // answered (finished or abandoned)
}

type (
	// reapList asks a vnode on this node for a piece of a pass's listing.
	reapList      struct{ scan vnode.ReapScan }
	reapListReply struct {
		list vnode.ReapList
		err  error
	}
	// reapWake: rate tokens are available again for the pass.
	reapWake struct{ rp *reapPass }
)

// policy is the reap passes' reap.Policy.
func (c ReapConfig) policy() reap.Policy {
	return reap.Policy{Grace: c.TombstoneGrace,
		Prune: version.PrunePolicy{KeepEntries: c.PruneKeep, MinAgeMs: c.PruneMinAge.Milliseconds()}}
}

// reapDue reports whether partition p's next reap pass is due (its cursor
// allows it).
func (s *syncerActor) reapDue(p uint32) bool {
	c := s.reaps[p]
	return c == nil || !time.Now().Before(c.due)
}

// beginReap lists the candidates of partition p's next pass.
func (s *syncerActor) beginReap(ctx actor.Context, p uint32, owners []string) {
	c := s.reaps[p]
	if c == nil {
		c = &reapCursor{}
		s.reaps[p] = c
	}
	rp := &reapPass{partition: p, owners: owners, from: c.after}
	s.rp = rp
	r := s.cfg.Reap
	scan := vnode.ReapScan{After: c.after, Max: r.Batch, Scan: r.Scan, Bytes: maxMergeBytes,
		Policy: r.policy(), Owners: owners, NowNs: time.Now().UnixNano()}
	f := ctx.RequestFuture(vnodePID(ctx.Self().Address, p), &reapList{scan: scan}, s.cfg.Timeout)
	ctx.ReenterAfter(f, func(res interface{}, err error) {
		if s.rp != rp || s.gone {
			return
		}
		reply, ok := res.(*reapListReply)
		switch {
		case err != nil || !ok:
			s.reapFail(ctx, rp, fmt.Errorf("no listing from the local vnode: %v", err))
			return
		case reply.err != nil:
			s.reapFail(ctx, rp, reply.err)
			return
		}
		rp.list = reply.list
		c.after = reply.list.Next
		if c.after == nil {
			c.due = time.Now().Add(r.Every) // through the partition: rest
		} else {
			// The pass goes on: its next listing (which reads up to Scan
			// objects in the vnode) after an interval, whatever this one
			// found.
			c.due = time.Now().Add(s.cfg.Interval)
		}
		if len(rp.list.Candidates) == 0 {
			s.reapDone(ctx, rp, 0)
			return
		}
		s.reapTokens(ctx, rp)
	})
}

// reapTokens takes a rate token per candidate (the bucket anti-entropy's
// repairs use), then checks them with the other primaries.
func (s *syncerActor) reapTokens(ctx actor.Context, rp *reapPass) {
	n := len(rp.list.Candidates)
	for rp.tokens < n {
		got, wait := s.cfg.Background.take(s.bucket, time.Now(), n-rp.tokens)
		if got == 0 {
			if !rp.waking {
				rp.waking = true
				self, root := ctx.Self(), ctx.ActorSystem().Root
				time.AfterFunc(wait, func() { root.Send(self, &reapWake{rp: rp}) })
			}
			return
		}
		rp.tokens += got
	}
	s.reapCheck(ctx, rp)
}

// reapCheck asks every other primary which candidates it holds.
func (s *syncerActor) reapCheck(ctx actor.Context, rp *reapPass) {
	cands := rp.list.Candidates
	req := &messages.ReapCheckRequest{Partition: rp.partition}
	held := make([]bool, len(cands))
	for i, c := range cands {
		req.Keys = append(req.Keys, c.Key)
		req.Digests = append(req.Digests, c.Digest)
		held[i] = true
	}
	rp.answers = []reap.Answer{{Node: s.cfg.Self, Held: held, Retired: rp.list.Retired}}
	for _, o := range rp.owners {
		if o == s.cfg.Self {
			continue
		}
		rp.pending++
		s.reapAsk(ctx, rp, o, req, func(reply *messages.Envelope) error {
			r := reply.GetReapCheckReply()
			if r == nil {
				return errors.New("the reply is not a reap check")
			}
			if err := remoting.ErrorOf(r.GetError()); err != nil {
				return err
			}
			if r.GetNode() != o {
				return fmt.Errorf("the check was answered by %q", r.GetNode())
			}
			rp.answers = append(rp.answers, reap.Answer{Node: o, Held: r.GetHeld(), Absent: r.GetAbsent(), Retired: r.GetRetired()})
			if rp.pending--; rp.pending == 0 {
				s.reapApply(ctx, rp)
			}
			return nil
		})
	}
	if rp.pending == 0 {
		s.reapApply(ctx, rp)
	}
}

// reapApply plans the pass and sends its items to every primary.
func (s *syncerActor) reapApply(ctx actor.Context, rp *reapPass) {
	s.cfg.Counters.ReapKeysChecked.Add(uint64(len(rp.list.Candidates)))
	items, err := reap.Plan(rp.list.Candidates, rp.answers, s.cfg.Reap.policy(), time.Now().UnixMilli())
	if err != nil {
		s.reapFail(ctx, rp, err)
		return
	}
	if len(items) == 0 {
		s.reapDone(ctx, rp, 0)
		return
	}
	// Cut so that no message exceeds maxMergeBytes (pruned sets carry
	// their values).
	var batches []*messages.ReapRequest
	size := 0
	for _, it := range items {
		item := &messages.ReapItem{Key: it.Key, Digest: it.Digest}
		if it.Set != nil {
			item.Set = version.ToProto(it.Set)
		}
		n := proto.Size(item)
		if len(batches) == 0 || (size+n > maxMergeBytes && len(batches[len(batches)-1].Items) > 0) {
			batches = append(batches, &messages.ReapRequest{Partition: rp.partition})
			size = 0
		}
		b := batches[len(batches)-1]
		b.Items = append(b.Items, item)
		size += n
	}
	deleted := 0
	for _, o := range rp.owners {
		for _, b := range batches {
			rp.pending++
			s.reapAsk(ctx, rp, o, b, func(reply *messages.Envelope) error {
				r := reply.GetReapReply()
				if r == nil {
					return errors.New("the reply is not a reap")
				}
				if err := remoting.ErrorOf(r.GetError()); err != nil {
					return err
				}
				deleted += int(r.GetDeleted())
				if rp.pending--; rp.pending == 0 {
					s.reapDone(ctx, rp, deleted)
				}
				return nil
			})
		}
	}
}

// reapAsk sends body to owner's vnode of the pass's partition and hands
// the reply to step; an error abandons the pass.
func (s *syncerActor) reapAsk(ctx actor.Context, rp *reapPass, owner string, body proto.Message, step func(*messages.Envelope) error) {
	if s.rp != rp || rp.done {
		return // abandoned while its messages went out
	}
	s.nonce++
	addr := ctx.Self().Address
	if owner != s.cfg.Self {
		if addr = s.view.Addr(owner); addr == "" {
			s.reapFail(ctx, rp, fmt.Errorf("%s has no address in the view", owner))
			return
		}
	}
	ask(ctx, vnodePID(addr, rp.partition), messages.Wrap(s.nonce, body), s.cfg.Timeout, func(reply *messages.Envelope, err error) {
		if s.rp != rp || s.gone || rp.done {
			return
		}
		if err == nil {
			err = step(reply)
		}
		if err != nil {
			if owner != s.cfg.Self && errors.Is(err, errNoReply) {
				s.cfg.Health.Failed(owner)
			}
			s.reapFail(ctx, rp, fmt.Errorf("%s: %w", owner, err))
		}
	})
}

// reapDone ends a pass.
func (s *syncerActor) reapDone(ctx actor.Context, rp *reapPass, replicaDeletes int) {
	rp.done = true
	s.rp = nil
	s.cfg.Counters.ReapPasses.Add(1)
	if replicaDeletes > 0 {
		s.cfg.Logger.Debug("reap pass", "partition", rp.partition, "checked", len(rp.list.Candidates), "replica_deletes", replicaDeletes)
	}
	s.idle(ctx)
}

// reapFail abandons a pass; its keys are listed again by the next one
// (items applied on some primaries and not others are put right by
// anti-entropy and the next pass).
func (s *syncerActor) reapFail(ctx actor.Context, rp *reapPass, err error) {
	if s.rp != rp || rp.done {
		return
	}
	rp.done = true
	s.rp = nil
	if c := s.reaps[rp.partition]; c != nil {
		c.after = rp.from
		c.due = time.Now().Add(min(s.cfg.Reap.Every, time.Second))
	}
	s.cfg.Counters.ReapFailures.Add(1)
	s.cfg.Logger.Debug("reap pass abandoned", "partition", rp.partition, "err", err)
	s.idle(ctx)
}
