package chaos

import (
	"fmt"
	"slices"
	"strings"
)

// Outcome is what a client learned of one add.
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

// Add is one attempted add of Item to Cart.
type Add struct {
	Cart, Item string
	Outcome    Outcome
}

// Final is what the checker read at the end: each cart's items as read at
// R=N through each node (node name -> items), and whether each cart's
// replicas hold identical versions.
type Final struct {
	Reads map[string]map[string][]string
	// Diverged lists carts whose replicas differ, with a description.
	Diverged []string
	// RootsDiffer lists partitions whose owners' Merkle roots differ.
	RootsDiffer []string
	// ReadErrors lists reads that failed.
	ReadErrors []string
}

// Result is the checker's verdict.
type Result struct {
	Attempted, Acked, Failed, Unknown int
	// Lost are acknowledged adds missing from a final read.
	Lost []string
	// Unexpected are items in a final read that nobody tried to add.
	Unexpected []string
	// NeverRead are acknowledged adds that no final read through any node
	// returned (a subset of Lost when every node was read).
	NeverRead []string
	// Inconsistent lists carts whose final reads differ between nodes.
	Inconsistent []string
	// Diverged, RootsDiffer and ReadErrors are copied from Final.
	Diverged, RootsDiffer, ReadErrors []string
	// RecoveredFailed counts failed or unknown adds that appear anyway.
	RecoveredFailed int
}

// OK reports whether nothing acknowledged was lost, nothing unexpected
// appeared, and every replica converged.
func (r Result) OK() bool {
	return len(r.Lost) == 0 && len(r.Unexpected) == 0 && len(r.Inconsistent) == 0 &&
		len(r.Diverged) == 0 && len(r.RootsDiffer) == 0 && len(r.ReadErrors) == 0
}

// Check compares the history of adds with the final reads, in the manner
// of Jepsen's set checker.
func Check(adds []Add, f Final) Result {
	r := Result{Attempted: len(adds), Diverged: f.Diverged, RootsDiffer: f.RootsDiffer, ReadErrors: f.ReadErrors}
	attempted := map[string]Outcome{} // cart/item
	for _, a := range adds {
		k := a.Cart + "/" + a.Item
		switch a.Outcome {
		case Acked:
			r.Acked++
		case Failed:
			r.Failed++
		default:
			r.Unknown++
		}
		if a.Outcome == Acked || attempted[k] == 0 {
			attempted[k] = a.Outcome
		}
	}
	seenAny := map[string]bool{}
	for cart, byNode := range f.Reads {
		var first string
		var firstNode string
		nodes := make([]string, 0, len(byNode))
		for n := range byNode {
			nodes = append(nodes, n)
		}
		slices.Sort(nodes)
		for _, n := range nodes {
			items := slices.Clone(byNode[n])
			slices.Sort(items)
			items = slices.Compact(items)
			joined := strings.Join(items, ",")
			if firstNode == "" {
				first, firstNode = joined, n
			} else if joined != first {
				r.Inconsistent = append(r.Inconsistent, fmt.Sprintf("%s: %s and %s read different items", cart, firstNode, n))
			}
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
	for k, o := range attempted {
		cart := k[:strings.IndexByte(k, '/')]
		if o != Acked {
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
		if len(missing) > 0 {
			slices.Sort(missing)
			r.Lost = append(r.Lost, k+" (missing through "+strings.Join(missing, ", ")+")")
		}
		if len(f.Reads[cart]) == 0 {
			r.Lost = append(r.Lost, k+" (cart not read)")
		}
	}
	slices.Sort(r.Lost)
	slices.Sort(r.NeverRead)
	slices.Sort(r.Inconsistent)
	return r
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
