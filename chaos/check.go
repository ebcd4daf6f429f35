package chaos

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Outcome is what a client learned of one write.
type Outcome int

// Outcomes.
const (
	// Acked: the write was acknowledged (W replicas took it).
	Acked Outcome = iota + 1
	// Failed: the write returned an error. A Dynamo write that failed may
	// still have reached some replicas: its item may appear.
	Failed
	// Unknown: the client gave up waiting (timeout).
	Unknown
)

func (o Outcome) String() string {
	switch o {
	case Acked:
		return "acked"
	case Failed:
		return "failed"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Workload names the cart clients' kinds.
type Workload int

// Cart workloads.
const (
	// Merge: read the cart, merge its siblings by set union, add an item,
	// write with the read's context.
	Merge Workload = iota
	// Own: read once, then several writes each adding an item, each with
	// the context the client's own previous put returned, each value the
	// union of what the read returned and everything the client added
	// since.
	Own
	// Blind: write one new item with no context (a sibling of whatever
	// the cart holds).
	Blind
)

// Workloads lists the cart workloads, in order.
var Workloads = []Workload{Merge, Own, Blind}

func (w Workload) String() string {
	switch w {
	case Merge:
		return "read-merge-write"
	case Own:
		return "own-context"
	case Blind:
		return "blind"
	}
	return fmt.Sprintf("workload(%d)", int(w))
}

// Add is one attempted add of Item to Cart.
type Add struct {
	Cart, Item string
	Outcome    Outcome
	// Kind is the workload of the client that added it.
	Kind Workload
	// At is when the write returned, from the start of the workload.
	At time.Duration
}

// Final is what the checker read at the end: each key's items (a cart's
// items, a register's values) as read on each of its replicas and at R=N
// through the cluster (reader -> items), and whether each key's replicas
// hold identical versions.
type Final struct {
	// Reads are the carts', Registers the registers'.
	Reads, Registers map[string]map[string][]string
	// Windows are when each register's final reads were made, from the
	// first request sent to the last answer (from the start of the
	// workload, by the wall clock). A register without one has its
	// values with a time to live checked as possibly expired.
	Windows map[string][2]time.Duration
	// Expires are the expiries that readers reporting them (the reads
	// through the cluster) gave each register's values, aligned with
	// Registers' (from the start of the workload; 0 for none).
	Expires map[string]map[string][]time.Duration
	// Diverged lists keys whose replicas differ, with a description.
	Diverged []string
	// RootsDiffer lists partitions whose owners' Merkle roots differ.
	RootsDiffer []string
	// ReadErrors lists reads that failed.
	ReadErrors []string
}

// Figures count one workload's adds.
type Figures struct {
	Attempted, Acked, Failed, Unknown, Lost int
}

// Result is the checker's verdict.
type Result struct {
	Attempted, Acked, Failed, Unknown int
	// ByWorkload splits the figures by cart workload.
	ByWorkload map[Workload]*Figures
	// Lost are acknowledged adds missing from a final read.
	Lost []string
	// Unexpected are items in a final read that nobody tried to add.
	Unexpected []string
	// NeverRead are acknowledged adds that no final read through any node
	// returned (a subset of Lost when every node was read).
	NeverRead []string
	// Inconsistent lists keys whose final reads differ between readers.
	Inconsistent []string
	// Diverged, RootsDiffer and ReadErrors are copied from Final.
	Diverged, RootsDiffer, ReadErrors []string
	// RecoveredFailed counts failed or unknown adds that appear anyway.
	RecoveredFailed int
	// Registers is the delete-and-re-add workload's verdict.
	Registers RegisterResult
}

// OK reports whether nothing acknowledged was lost, nothing unexpected or
// resurrected appeared, and every replica converged.
func (r Result) OK() bool {
	return len(r.Lost) == 0 && len(r.Unexpected) == 0 && len(r.Inconsistent) == 0 &&
		len(r.Diverged) == 0 && len(r.RootsDiffer) == 0 && len(r.ReadErrors) == 0 && r.Registers.OK()
}

// Check compares the history of adds with the carts' final reads, in the
// manner of Jepsen's set checker: every acknowledged add must be in every
// final read of its cart, and every item read must have been added.
func Check(adds []Add, f Final) Result {
	r := Result{Attempted: len(adds), Diverged: f.Diverged, RootsDiffer: f.RootsDiffer, ReadErrors: f.ReadErrors,
		ByWorkload: map[Workload]*Figures{}}
	for _, w := range Workloads {
		r.ByWorkload[w] = &Figures{}
	}
	type attempt struct {
		outcome Outcome
		add     Add
	}
	attempted := map[string]attempt{} // cart/item
	for _, a := range adds {
		k := a.Cart + "/" + a.Item
		fig := r.ByWorkload[a.Kind]
		if fig == nil {
			fig = &Figures{}
			r.ByWorkload[a.Kind] = fig
		}
		fig.Attempted++
		switch a.Outcome {
		case Acked:
			r.Acked++
			fig.Acked++
		case Failed:
			r.Failed++
			fig.Failed++
		default:
			r.Unknown++
			fig.Unknown++
		}
		if a.Outcome == Acked || attempted[k].outcome == 0 {
			attempted[k] = attempt{a.Outcome, a}
		}
	}
	seenAny := map[string]bool{}
	for cart, byNode := range f.Reads {
		r.Inconsistent = append(r.Inconsistent, inconsistent(cart, byNode)...)
		for _, items := range byNode {
			for _, it := range items {
				k := cart + "/" + it
				seenAny[k] = true
				if _, ok := attempted[k]; !ok {
					r.Unexpected = append(r.Unexpected, k)
				}
			}
		}
	}
	r.Unexpected = uniq(r.Unexpected)
	for k, at := range attempted {
		cart := k[:strings.IndexByte(k, '/')]
		if at.outcome != Acked {
			if seenAny[k] {
				r.RecoveredFailed++
			}
			continue
		}
		if !seenAny[k] {
			r.NeverRead = append(r.NeverRead, k)
		}
		var missing []string
		for n, items := range f.Reads[cart] {
			if !slices.Contains(items, k[len(cart)+1:]) {
				missing = append(missing, n)
			}
		}
		desc := fmt.Sprintf("%s (%s, acked at %v", k, at.add.Kind, at.add.At.Round(100*time.Millisecond))
		switch {
		case len(f.Reads[cart]) == 0:
			r.Lost = append(r.Lost, desc+"; cart not read)")
			r.ByWorkload[at.add.Kind].Lost++
		case len(missing) > 0:
			slices.Sort(missing)
			r.Lost = append(r.Lost, desc+"; missing through "+strings.Join(missing, ", ")+")")
			r.ByWorkload[at.add.Kind].Lost++
		}
	}
	slices.Sort(r.Lost)
	slices.Sort(r.NeverRead)
	slices.Sort(r.Inconsistent)
	return r
}

// inconsistent lists, for a key read by several readers, the readers that
// read other items than the first one (in name order).
func inconsistent(key string, byNode map[string][]string) []string {
	var out []string
	var first, firstNode string
	for _, n := range slices.Sorted(maps.Keys(byNode)) {
		items := slices.Clone(byNode[n])
		slices.Sort(items)
		items = slices.Compact(items)
		joined := strings.Join(items, ",")
		if firstNode == "" {
			first, firstNode = joined, n
		} else if joined != first {
			out = append(out, fmt.Sprintf("%s: %s and %s read different items", key, firstNode, n))
		}
	}
	return out
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// RegOp is one write of the delete-and-re-add workload: a put of Value or
// a delete of a register (a key owned by one client, written one
// operation at a time).
type RegOp struct {
	Key string
	// Seq orders the register's operations (its client's order).
	Seq    int
	Delete bool
	// Value is the put's value (unique); empty for a delete.
	Value string
	// TTL is the put's time to live (client.TTL), 0 for none: its value
	// expires TTL after the coordinator prepared the write, which it did
	// between Sent and At (no failover: one coordinator, one prepare).
	TTL     time.Duration
	Outcome Outcome
	// Covers are the values the write's context covered: what it
	// supersedes. A put's own value is covered by the context it returns;
	// a read's context covers the values it returned and everything those
	// values' writes covered.
	Covers []string
	// Context says where the context came from: "own" (the client's own
	// previous put), "read" or "none".
	Context string
	// Blind: a put made with no context on purpose, to be a sibling of the
	// register's value (not an overwrite made on a read that missed it).
	Blind bool `json:",omitempty"`
	// Sent is when the write was sent, At when it returned, both from the
	// start of the workload by the wall clock (the nodes' expiries are
	// wall-clock times, and every agent runs on this machine).
	Sent, At time.Duration
}

// liveness is what a value with a time to live certainly is at reads
// made within a window: from the first request sent to the last answer.
type liveness int

const (
	// certainlyLive: no time to live, or the reads were all answered
	// before the put was sent plus its time to live (its expiry, set when
	// the coordinator prepared the write, is later): read as any value.
	certainlyLive liveness = iota
	// mayHaveExpired: the expiry may lie before or within the reads (or
	// the put was not acknowledged, and its coordinator may have prepared
	// it at any later time): present or absent, both are right, and
	// readers may disagree.
	mayHaveExpired
	// certainlyExpired: the put was acknowledged and the reads began after
	// it returned plus its time to live (its expiry is earlier): no read
	// may return it.
	certainlyExpired
)

// livenessAt is what op's value is at reads made within w (from, to).
func (op RegOp) livenessAt(w [2]time.Duration) liveness {
	switch {
	case op.TTL <= 0 || w[1] < op.Sent+op.TTL:
		return certainlyLive
	case op.Outcome == Acked && w[0] >= op.At+op.TTL:
		return certainlyExpired
	}
	return mayHaveExpired
}

// expiryBounds are the expiry a read may report for op's value: none (0)
// without a time to live; else from the put's send plus its time to live
// to its return plus it (no upper bound, hi 0, unless acknowledged).
func (op RegOp) expiryBounds() (lo, hi time.Duration) {
	if op.TTL <= 0 {
		return 0, 0
	}
	lo = op.Sent + op.TTL
	if op.Outcome == Acked {
		hi = op.At + op.TTL
	}
	return lo, hi
}

// describePut says how op was written, for the reports on expiry.
func (op RegOp) describePut() string {
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	if op.TTL <= 0 {
		return fmt.Sprintf("put without a time to live, %s at %v", op.Outcome, r(op.At))
	}
	lo, hi := op.expiryBounds()
	due := fmt.Sprintf("expiry due from %v", r(lo))
	if hi > 0 {
		due = fmt.Sprintf("expiry due in [%v, %v]", r(lo), r(hi))
	}
	return fmt.Sprintf("put with time to live %v sent at %v, %s at %v: %s", op.TTL, r(op.Sent), op.Outcome, r(op.At), due)
}

// StaleRead is a read of a register that missed its client's own last
// acknowledged write (neither that value nor one that supersedes it).
// Sloppy quorums allow it under faults; the write made with the read's
// context then cannot supersede the missed value, which survives.
type StaleRead struct {
	Key, Missed string
	At          time.Duration
	// NotFound: the read answered "not found" (else an older value).
	NotFound bool
	// PutAt is when the missed put was acknowledged; PrimaryAcked that
	// W primaries acknowledged it (no fallback among the acks:
	// client.ReportAcks).
	PutAt        time.Duration
	PrimaryAcked bool
	// Holders are the key's owners found holding the missed value right
	// after the read (fresh keys only).
	Holders []string
}

func (s StaleRead) String() string {
	what := "an older value"
	if s.NotFound {
		what = "not found"
	}
	out := fmt.Sprintf("%s missed %s at %v (%s", s.Key, s.Missed, s.At.Round(100*time.Millisecond), what)
	if len(s.Holders) > 0 {
		out += "; held by " + strings.Join(s.Holders, ", ")
	}
	return out + ")"
}

// Rest is a register's rest, longer than the agents' tombstone grace,
// after an acknowledged delete or an acknowledged put with a short time to
// live (until its value has expired and the grace has passed), so that its
// key is reaped before it is written again.
type Rest struct {
	Key string
	// After is "delete" or "expiry".
	After string
	// At is when the register woke.
	At time.Duration
	// Owners are the key's owners that answered a replica read when it
	// woke; Stored those of them that still stored the key (not reaped).
	Owners, Stored []string
}

// Reaped reports a key that no owner that answered still stored.
func (r Rest) Reaped() bool { return len(r.Owners) > 0 && len(r.Stored) == 0 }

// RegisterResult is the verdict on the registers.
type RegisterResult struct {
	Ops, Puts, Deletes, Acked, Failed, Unknown int
	// Lost are acknowledged puts that no later write superseded and that a
	// final read lacks.
	Lost []string
	// Resurrected are values a final read returned although an
	// acknowledged later delete or overwrite superseded them (its context
	// covered them).
	Resurrected []string
	// Unexpected are values read that nobody wrote.
	Unexpected []string
	// Inconsistent lists registers read differently by different readers.
	Inconsistent []string
	// StaleReads are reads that missed their client's own acknowledged
	// write; StaleSurvivors the values a final read returned after an
	// acknowledged delete or overwrite made with such a read's context
	// (not superseded, so not resurrected: reported, not a failure).
	StaleReads     []StaleRead
	StaleSurvivors []string
	// MissedAcked are reads at R=2 that answered "not found" for a put W=2
	// primaries had acknowledged, with no membership change in between
	// (MissedAcked): R+W > N over the same primaries, so a read may say
	// "not found" only when R primaries lack the value, and at most one
	// does. A failure.
	MissedAcked []string
	// Expired are values a final read returned after they had certainly
	// expired: their put was acknowledged and the reads began after it
	// returned plus its time to live, or the read reported an expiry that
	// had passed when the reads began ("expired value came back"). A
	// failure.
	Expired []string
	// WrongExpiry are values read through the cluster with an expiry
	// their put does not explain: one for a put without a time to live,
	// none or one outside [sent + TTL, acknowledged + TTL] for a put with
	// one. A failure.
	WrongExpiry []string
	// Expiry counts the puts with a time to live, ExpiryByFamily the same
	// by family of keys (a key's name up to its first '-': "reg" for the
	// registers, "fresh" for the fresh keys).
	Expiry         ExpiryFigures
	ExpiryByFamily map[string]*ExpiryFigures
	// ExpiriesChecked counts the values read through the cluster whose
	// expiry was compared with their put's.
	ExpiriesChecked int
}

// ExpiryFigures count puts with a time to live: attempted and
// acknowledged; and of the acknowledged ones on keys read at the end,
// those certainly expired at the final reads (each must be in none),
// those certainly live and superseded by no write (each must be in every
// one), and those that may have expired just before or during the reads
// (either is right).
type ExpiryFigures struct {
	Puts, Acked, CheckedExpired, CheckedLive, Undecided int
}

// OK reports whether no acknowledged put was lost or missed by a read that
// had to see it, nothing superseded or expired came back, every expiry
// read was its put's, and nothing unexpected appeared.
func (r RegisterResult) OK() bool {
	return len(r.Lost) == 0 && len(r.Resurrected) == 0 && len(r.Unexpected) == 0 && len(r.Inconsistent) == 0 &&
		len(r.MissedAcked) == 0 && len(r.Expired) == 0 && len(r.WrongExpiry) == 0
}

// MissedAcked returns the stale reads that answered "not found" for a put
// acknowledged by W primaries (N=3, R=W=2) while no membership change
// (churn: join and leave windows, each [from, to]) overlapped the time
// from the put's acknowledgement to the read. Such a read's primaries
// overlap the put's in one that holds the value, so "not found" (which a
// read answers only on R primaries' word) cannot be right: a fallback's
// "not found", or a primary's that lagged, outvoted it.
func MissedAcked(stale []StaleRead, churn [][2]time.Duration) []string {
	var out []string
	for _, s := range stale {
		if !s.NotFound || !s.PrimaryAcked {
			continue
		}
		if slices.ContainsFunc(churn, func(w [2]time.Duration) bool { return w[0] <= s.At && s.PutAt <= w[1] }) {
			continue
		}
		out = append(out, s.String())
	}
	return out
}

// CheckRegisters compares the registers' history with their final reads.
// Each register is one client's, so the expected state is exact: a value
// whose put was acknowledged must be in every final read unless a later
// write (of any outcome) superseded it, and a value an acknowledged write
// superseded must be in none (a resurrection).
//
// A value with a time to live is read so only while it is certainly live
// at the final reads (livenessAt); once certainly expired it must be in
// none (Expired), and in between it may be in any, so readers may differ
// on it. An expiry a read reports must be its put's (WrongExpiry).
func CheckRegisters(ops []RegOp, stale []StaleRead, f Final) RegisterResult {
	r := RegisterResult{Ops: len(ops), StaleReads: stale, ExpiryByFamily: map[string]*ExpiryFigures{}}
	// count applies f to the total figures and to those of key's family.
	count := func(key string, f func(*ExpiryFigures)) {
		fam, _, _ := strings.Cut(key, "-")
		if r.ExpiryByFamily[fam] == nil {
			r.ExpiryByFamily[fam] = &ExpiryFigures{}
		}
		f(&r.Expiry)
		f(r.ExpiryByFamily[fam])
	}
	byKey := map[string][]RegOp{}
	for _, op := range ops {
		byKey[op.Key] = append(byKey[op.Key], op)
		if op.Delete {
			r.Deletes++
		} else {
			r.Puts++
		}
		switch op.Outcome {
		case Acked:
			r.Acked++
		case Failed:
			r.Failed++
		default:
			r.Unknown++
		}
		if !op.Delete && op.TTL > 0 {
			count(op.Key, func(e *ExpiryFigures) {
				e.Puts++
				if op.Outcome == Acked {
					e.Acked++
				}
			})
		}
	}
	keys := slices.Sorted(maps.Keys(byKey))
	for k := range f.Registers {
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
	}
	round := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	for _, key := range keys {
		kops := byKey[key]
		slices.SortFunc(kops, func(a, b RegOp) int { return a.Seq - b.Seq })
		written := map[string]RegOp{}     // value -> its put
		coveredBy := map[string]RegOp{}   // value -> the first acked write that covers it
		coveredByAny := map[string]bool{} // value -> some write covers it
		followedBy := map[string]RegOp{}  // value -> an acked later delete or overwrite
		var pending []string              // values written and not yet followed by an acked write
		for _, op := range kops {
			for _, v := range op.Covers {
				coveredByAny[v] = true
				if _, ok := coveredBy[v]; !ok && op.Outcome == Acked {
					coveredBy[v] = op
				}
			}
			switch {
			case op.Blind:
				// The values before it stay beside it: the writes that
				// follow on its context do not claim to supersede them.
				pending = pending[:0]
			case op.Outcome == Acked:
				for _, v := range pending {
					followedBy[v] = op
				}
				pending = pending[:0]
			}
			if !op.Delete {
				written[op.Value] = op
				pending = append(pending, op.Value)
			}
		}
		reads := f.Registers[key]
		win, ok := f.Windows[key]
		if !ok {
			win = [2]time.Duration{0, math.MaxInt64} // unknown: nothing is certain
		}
		// Readers may differ on a value that may have expired during the
		// reads.
		settled := map[string][]string{}
		for reader, vals := range reads {
			settled[reader] = slices.DeleteFunc(slices.Clone(vals), func(v string) bool {
				op, ok := written[v]
				return ok && op.livenessAt(win) == mayHaveExpired
			})
		}
		r.Inconsistent = append(r.Inconsistent, inconsistent(key, settled)...)
		resurrected, survivors, unexpected := map[string][]string{}, map[string][]string{}, map[string]bool{}
		expired := map[string][]string{}     // certainly expired by the history
		pastOwn := map[string][]string{}     // returned after the expiry the read gave it
		wrongExpiry := map[string][]string{} // value -> "reader with expiry"
		for reader, vals := range reads {
			exps, reports := f.Expires[key][reader]
			for i, v := range vals {
				put, ok := written[v]
				if !ok {
					unexpected[v] = true
					continue
				}
				var e time.Duration // the expiry the reader gave v, 0 none
				if reports && i < len(exps) {
					e = exps[i]
				}
				switch {
				case put.livenessAt(win) == certainlyExpired:
					expired[v] = append(expired[v], reader)
				case e != 0 && e <= win[0]:
					pastOwn[v] = append(pastOwn[v], fmt.Sprintf("%s (its expiry %v)", reader, round(e)))
				default:
					if _, ok := coveredBy[v]; ok {
						resurrected[v] = append(resurrected[v], reader)
					} else if _, ok := followedBy[v]; ok {
						survivors[v] = append(survivors[v], reader)
					}
				}
				if !reports {
					continue
				}
				r.ExpiriesChecked++
				lo, hi := put.expiryBounds()
				if (lo == 0 && e != 0) || (lo != 0 && (e < lo || (hi != 0 && e > hi))) {
					got := "no expiry"
					if e != 0 {
						got = fmt.Sprintf("expiry %v", round(e))
					}
					wrongExpiry[v] = append(wrongExpiry[v], reader+" with "+got)
				}
			}
		}
		for v := range unexpected {
			r.Unexpected = append(r.Unexpected, key+"/"+v)
		}
		for v, readers := range expired {
			slices.Sort(readers)
			put := written[v]
			desc := fmt.Sprintf("%s/%s (%s; certainly expired by %v; read in [%v, %v] through %s",
				key, v, put.describePut(), round(put.At+put.TTL), round(win[0]), round(win[1]), strings.Join(readers, ", "))
			if by, ok := coveredBy[v]; ok {
				desc += fmt.Sprintf("; also superseded by the write acked at %v", round(by.At))
			}
			r.Expired = append(r.Expired, desc+")")
		}
		for v, readers := range pastOwn {
			slices.Sort(readers)
			r.Expired = append(r.Expired, fmt.Sprintf("%s/%s (%s; read in [%v, %v] through %s, after the expiry the read gave it)",
				key, v, written[v].describePut(), round(win[0]), round(win[1]), strings.Join(readers, ", ")))
		}
		for v, readers := range wrongExpiry {
			slices.Sort(readers)
			r.WrongExpiry = append(r.WrongExpiry, fmt.Sprintf("%s/%s (%s; read through %s)", key, v, written[v].describePut(), strings.Join(readers, ", ")))
		}
		for v, readers := range resurrected {
			slices.Sort(readers)
			put, by := written[v], coveredBy[v]
			what := "overwrite"
			if by.Delete {
				what = "delete"
			}
			r.Resurrected = append(r.Resurrected, fmt.Sprintf("%s/%s (put %s at %v; superseded by the %s acked at %v with its %s context; read through %s)",
				key, v, put.Outcome, put.At.Round(100*time.Millisecond), what, by.At.Round(100*time.Millisecond), by.Context, strings.Join(readers, ", ")))
		}
		for v, readers := range survivors {
			slices.Sort(readers)
			r.StaleSurvivors = append(r.StaleSurvivors, fmt.Sprintf("%s/%s (followed by the acked write at %v, whose %s context did not cover it; read through %s)",
				key, v, followedBy[v].At.Round(100*time.Millisecond), followedBy[v].Context, strings.Join(readers, ", ")))
		}
		for _, op := range kops {
			if op.Delete || op.Outcome != Acked {
				continue
			}
			live := op.livenessAt(win)
			if len(reads) > 0 && op.TTL > 0 {
				switch {
				case live == certainlyExpired:
					count(key, func(e *ExpiryFigures) { e.CheckedExpired++ })
				case live == mayHaveExpired:
					count(key, func(e *ExpiryFigures) { e.Undecided++ })
				case !coveredByAny[op.Value]:
					count(key, func(e *ExpiryFigures) { e.CheckedLive++ })
				}
			}
			if coveredByAny[op.Value] || live != certainlyLive {
				continue // superseded, or it may have expired
			}
			var missing []string
			for reader, vals := range reads {
				if !slices.Contains(vals, op.Value) {
					missing = append(missing, reader)
				}
			}
			desc := fmt.Sprintf("%s/%s (acked at %v with %s context", key, op.Value, op.At.Round(100*time.Millisecond), op.Context)
			if op.TTL > 0 {
				desc += fmt.Sprintf(" and time to live %v, certainly live at the reads in [%v, %v]", op.TTL, round(win[0]), round(win[1]))
			}
			switch {
			case len(reads) == 0:
				r.Lost = append(r.Lost, desc+"; register not read)")
			case len(missing) > 0:
				slices.Sort(missing)
				r.Lost = append(r.Lost, desc+"; missing through "+strings.Join(missing, ", ")+")")
			}
		}
	}
	slices.Sort(r.Lost)
	slices.Sort(r.Resurrected)
	slices.Sort(r.Unexpected)
	slices.Sort(r.Inconsistent)
	slices.Sort(r.StaleSurvivors)
	slices.Sort(r.Expired)
	slices.Sort(r.WrongExpiry)
	return r
}
