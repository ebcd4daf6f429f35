package chaos

import (
	"fmt"
	"maps"
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
	Value   string
	Outcome Outcome
	// Covers are the values the write's context covered: what it
	// supersedes. A put's own value is covered by the context it returns;
	// a read's context covers the values it returned and everything those
	// values' writes covered.
	Covers []string
	// Context says where the context came from: "own" (the client's own
	// previous put), "read" or "none".
	Context string
	At      time.Duration
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
}

// OK reports whether no acknowledged put was lost or missed by a read that
// had to see it, nothing superseded came back, and nothing unexpected
// appeared.
func (r RegisterResult) OK() bool {
	return len(r.Lost) == 0 && len(r.Resurrected) == 0 && len(r.Unexpected) == 0 && len(r.Inconsistent) == 0 &&
		len(r.MissedAcked) == 0
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
func CheckRegisters(ops []RegOp, stale []StaleRead, f Final) RegisterResult {
	r := RegisterResult{Ops: len(ops), StaleReads: stale}
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
	}
	keys := slices.Sorted(maps.Keys(byKey))
	for k := range f.Registers {
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
	}
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
			if op.Outcome == Acked {
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
		r.Inconsistent = append(r.Inconsistent, inconsistent(key, reads)...)
		resurrected, survivors, unexpected := map[string][]string{}, map[string][]string{}, map[string]bool{}
		for reader, vals := range reads {
			for _, v := range vals {
				if _, ok := written[v]; !ok {
					unexpected[v] = true
					continue
				}
				if _, ok := coveredBy[v]; ok {
					resurrected[v] = append(resurrected[v], reader)
				} else if _, ok := followedBy[v]; ok {
					survivors[v] = append(survivors[v], reader)
				}
			}
		}
		for v := range unexpected {
			r.Unexpected = append(r.Unexpected, key+"/"+v)
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
			if op.Delete || op.Outcome != Acked || coveredByAny[op.Value] {
				continue
			}
			var missing []string
			for reader, vals := range reads {
				if !slices.Contains(vals, op.Value) {
					missing = append(missing, reader)
				}
			}
			desc := fmt.Sprintf("%s/%s (acked at %v with %s context", key, op.Value, op.At.Round(100*time.Millisecond), op.Context)
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
	return r
}
