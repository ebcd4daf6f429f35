package antientropy

import "slices"

// JobKind is a kind of background job of a node's Merkle syncer.
type JobKind int

// Kinds of job.
const (
	// NoJob: nothing can run now.
	NoJob JobKind = iota
	// Handoff pushes a partition this node holds but no longer owns to
	// every owner, then drops the local copy.
	Handoff
	// Exchange compares a partition with one peer replica and repairs the
	// differences (a Session).
	Exchange
	// Reap checks the partition's old tombstones with every primary and
	// deletes those all of them hold (package reap).
	Reap
)

func (k JobKind) String() string {
	switch k {
	case NoJob:
		return "none"
	case Handoff:
		return "handoff"
	case Exchange:
		return "exchange"
	case Reap:
		return "reap"
	}
	return "JobKind(?)"
}

// Job is the planner's choice: its kind, partition, and the nodes it
// talks to (for a handoff every owner, in preference order; for an
// exchange the one peer; for a reap pass every primary, this node first).
type Job struct {
	Kind      JobKind
	Partition uint32
	Nodes     []string
	// CatchUp marks an exchange with a peer this replica has not been
	// compared with since the planner started or since the partition came
	// to this node: such pairs go first, outside the sweeps.
	CatchUp bool
	// WaitMs, for NoJob, is how long to wait before asking again: until
	// the next sweep may begin, or World.SweepMs when nothing can run.
	WaitMs int64
}

// Handoff back-off after a failure: from HandoffRetryMinMs, doubling, to
// HandoffRetryMaxMs.
const (
	HandoffRetryMinMs = 1000
	HandoffRetryMaxMs = 30_000
)

// World is what the planner needs to know of the node at one moment. Time
// is passed in (NowMs, Unix milliseconds), as everything else.
type World struct {
	NowMs int64
	// Self is this node's name.
	Self string
	// Held are the partitions this node's vnodes hold; Owned those the
	// ring gives it.
	Held, Owned []uint32
	// Owners lists a partition's primaries in preference order.
	Owners func(p uint32) []string
	// Reachable reports whether a node is up and not suspected.
	Reachable func(node string) bool
	// Exchanges and Reaps turn those jobs on (anti-entropy and reap passes
	// can each be off); handoffs always run.
	Exchanges, Reaps bool
	// ReapDue reports whether a partition's next reap pass is due.
	ReapDue func(p uint32) bool
	// SweepMs paces exchanges: a sweep (each owned partition compared
	// with its next peer, back to back) begins at most once per SweepMs,
	// so identical replicas cost a root hash each per sweep and a sweep
	// that repairs takes as long as its repairs (which the shell paces).
	// 0: sweeps follow each other at once.
	SweepMs int64
	// GapMs spaces a sweep's exchanges: one begins at least GapMs after
	// the sweep's previous one, bounding what comparing costs a node that
	// holds many partitions. Catch-ups are not spaced.
	GapMs int64
}

// Planner chooses a node's next background job, one at a time: handoffs,
// exchanges and reap passes take turns, so that none starves the others;
// within each kind, partitions go round robin. Exchanges first catch up:
// each owned partition is compared with every reachable peer once, back
// to back, after the planner starts (a node starting, wiped or not, may
// have missed writes) and after the partition comes to this node (one
// that fails is tried again after a pause, 1 s doubling to 30 s); then
// they go in sweeps, at most one per World.SweepMs, their exchanges at
// least World.GapMs apart. A handoff runs only when
// every owner of the partition is reachable (no copy is dropped before
// each owner holds it), and a partition whose handoff failed waits, from
// 1 s doubling to 30 s. A reap pass runs only at the partition's first
// primary, when every primary is reachable and its pass is due. The zero
// value is ready. Not safe for concurrent use.
type Planner struct {
	sched       Scheduler
	turn        int    // the kind tried first next: 0 handoff, 1 exchange, 2 reap
	handoffNext uint32 // the first partition to consider for the next handoff
	reapNext    uint32 // and for the next reap pass
	retry       map[uint32]retry
	sweepAtMs   int64                      // when the current sweep began
	lastMs      int64                      // when the sweep's last exchange began
	met         map[uint32]map[string]bool // owned partition -> peers compared with since it came here
	catchRetry  map[pair]retry             // catch-ups that failed: not before atMs
	catchNext   uint32                     // the first partition to consider for the next catch-up
}

// retry is when a failed handoff (or catch-up) may run again, and its
// current pause.
type retry struct{ atMs, pauseMs int64 }

// pair is a partition and one of its peers.
type pair struct {
	p    uint32
	peer string
}

// Away lists the partitions w holds but does not own: those to hand off.
func Away(w World) []uint32 {
	var away []uint32
	for _, p := range w.Held {
		if !slices.Contains(w.Owned, p) {
			away = append(away, p)
		}
	}
	slices.Sort(away)
	return away
}

// Next returns the job to run now, NoJob when none can.
func (pl *Planner) Next(w World) Job {
	away := Away(w)
	for i := range 3 {
		kind := (pl.turn + i) % 3
		var j Job
		switch kind {
		case 0:
			j = pl.nextHandoff(w, away)
		case 1:
			if w.Exchanges {
				j = pl.nextExchange(w)
			}
		case 2:
			if w.Reaps {
				j = pl.nextReap(w)
			}
		}
		if j.Kind != NoJob {
			pl.turn = (kind + 1) % 3
			return j
		}
	}
	wait := w.SweepMs
	if w.Exchanges {
		for _, at := range []int64{pl.sweepAtMs + w.SweepMs, pl.lastMs + w.GapMs} {
			if rest := at - w.NowMs; rest > 0 {
				wait = min(wait, rest)
			}
		}
	}
	return Job{WaitMs: wait}
}

func (pl *Planner) allReachable(w World, nodes []string) bool {
	return len(nodes) > 0 && !slices.ContainsFunc(nodes, func(n string) bool { return !w.Reachable(n) })
}

func (pl *Planner) nextHandoff(w World, away []uint32) Job {
	start, _ := slices.BinarySearch(away, pl.handoffNext)
	for i := range away {
		p := away[(start+i)%len(away)]
		if w.NowMs < pl.retry[p].atMs {
			continue // failed lately: backing off
		}
		if owners := w.Owners(p); pl.allReachable(w, owners) {
			pl.handoffNext = p + 1
			return Job{Kind: Handoff, Partition: p, Nodes: slices.Clone(owners)}
		}
	}
	return Job{}
}

func (pl *Planner) nextExchange(w World) Job {
	peers := func(p uint32) []string {
		var out []string
		for _, n := range w.Owners(p) {
			if n != w.Self && w.Reachable(n) {
				out = append(out, n)
			}
		}
		return out
	}
	if j, ok := pl.nextCatchUp(w, peers); ok {
		return j
	}
	if w.NowMs < pl.lastMs+w.GapMs {
		return Job{}
	}
	p, peer, begins, ok := pl.sched.NextInSweep(w.Owned, peers, w.NowMs >= pl.sweepAtMs+w.SweepMs)
	if !ok {
		return Job{}
	}
	if begins {
		pl.sweepAtMs = w.NowMs
	}
	pl.lastMs = w.NowMs
	return Job{Kind: Exchange, Partition: p, Nodes: []string{peer}}
}

// nextCatchUp returns an exchange of an owned partition with a reachable
// peer it has not met yet, partitions round robin.
func (pl *Planner) nextCatchUp(w World, peers func(p uint32) []string) (Job, bool) {
	owned := slices.Clone(w.Owned)
	slices.Sort(owned)
	if pl.met == nil {
		pl.met = map[uint32]map[string]bool{}
	}
	for p, peers := range pl.met {
		if _, found := slices.BinarySearch(owned, p); !found {
			delete(pl.met, p) // gone from this node: caught up again if it returns
			continue
		}
		owners := w.Owners(p)
		for peer := range peers {
			if !slices.Contains(owners, peer) {
				delete(peers, peer) // no longer a replica: caught up again if it becomes one
			}
		}
	}
	for k := range pl.catchRetry {
		if _, found := slices.BinarySearch(owned, k.p); !found {
			delete(pl.catchRetry, k)
		}
	}
	start, _ := slices.BinarySearch(owned, pl.catchNext)
	for i := range owned {
		p := owned[(start+i)%len(owned)]
		for _, peer := range peers(p) {
			if !pl.met[p][peer] && w.NowMs >= pl.catchRetry[pair{p, peer}].atMs {
				pl.catchNext = p + 1
				return Job{Kind: Exchange, Partition: p, Nodes: []string{peer}, CatchUp: true}, true
			}
		}
	}
	return Job{}, false
}

// ExchangeFailed records that an exchange of partition p with peer was
// abandoned at nowMs: if the pair still needs catching up, it is tried
// again after a pause, from HandoffRetryMinMs doubling to
// HandoffRetryMaxMs (a peer that is starting has no vnodes yet).
func (pl *Planner) ExchangeFailed(p uint32, peer string, nowMs int64) {
	if pl.met[p][peer] {
		return
	}
	if pl.catchRetry == nil {
		pl.catchRetry = map[pair]retry{}
	}
	k := pair{p, peer}
	r := pl.catchRetry[k]
	r.pauseMs = min(max(2*r.pauseMs, HandoffRetryMinMs), HandoffRetryMaxMs)
	r.atMs = nowMs + r.pauseMs
	pl.catchRetry[k] = r
}

// Exchanged records that partition p was compared with peer: the pair no
// longer needs catching up.
func (pl *Planner) Exchanged(p uint32, peer string) {
	delete(pl.catchRetry, pair{p, peer})
	if pl.met == nil {
		pl.met = map[uint32]map[string]bool{}
	}
	if pl.met[p] == nil {
		pl.met[p] = map[string]bool{}
	}
	pl.met[p][peer] = true
}

func (pl *Planner) nextReap(w World) Job {
	owned := slices.Clone(w.Owned)
	slices.Sort(owned)
	start, _ := slices.BinarySearch(owned, pl.reapNext)
	for i := range owned {
		p := owned[(start+i)%len(owned)]
		owners := w.Owners(p)
		if len(owners) == 0 || owners[0] != w.Self || !w.ReapDue(p) || !pl.allReachable(w, owners) {
			continue
		}
		pl.reapNext = p + 1
		return Job{Kind: Reap, Partition: p, Nodes: slices.Clone(owners)}
	}
	return Job{}
}

// HandoffFailed backs off partition p's handoff: it is not chosen again
// before a pause that doubles with each failure, from HandoffRetryMinMs to
// HandoffRetryMaxMs.
func (pl *Planner) HandoffFailed(p uint32, nowMs int64) {
	if pl.retry == nil {
		pl.retry = map[uint32]retry{}
	}
	r := pl.retry[p]
	r.pauseMs = min(max(2*r.pauseMs, HandoffRetryMinMs), HandoffRetryMaxMs)
	r.atMs = nowMs + r.pauseMs
	pl.retry[p] = r
}

// HandoffDone forgets partition p's back-off: it was handed off.
func (pl *Planner) HandoffDone(p uint32) { delete(pl.retry, p) }
