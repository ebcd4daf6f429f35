package reap

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dynamokv/dynamo/version"
)

// ErrInvalid marks answers that do not fit the candidates they answer.
var ErrInvalid = errors.New("reap: invalid")

// Policy says what a reap pass may do.
type Policy struct {
	// Grace: a key whose siblings are all dead is reaped once the latest
	// death (a delete's timestamp, the coordinator's wall time of it; an
	// expired value's expiry) is older than Grace. 0 or less never reaps.
	Grace time.Duration
	// Prune bounds clocks (version.Prune): KeepEntries and MinAgeMs. Its
	// Retired is ignored: Plan fills it from the primaries' answers.
	// KeepEntries 0 never prunes.
	Prune version.PrunePolicy
}

// Kind is what a pass may do with a key.
type Kind uint8

// Kinds.
const (
	// None: nothing to do.
	None Kind = iota
	// Tombstone: every sibling is dead (a delete, or a value whose time
	// to live ran out), the latest death older than Grace: reap the key if
	// every primary holds it.
	Tombstone
	// Prune: the clock is longer than KeepEntries and names, among the
	// partition's primaries, an actor whose entry is old enough and that
	// no sibling's dot needs: prune it if every primary holds it and that
	// actor is retired.
	Prune
)

func (k Kind) String() string {
	switch k {
	case None:
		return "none"
	case Tombstone:
		return "tombstone"
	case Prune:
		return "prune"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Classify says what a pass may do with set at nowNs (Unix ns). owners are
// the partition's primaries (node names): only their vnodes' incarnations
// can be reported retired, so only their entries make a prune candidate.
func Classify(set *version.Set, p Policy, owners []string, nowNs int64) Kind {
	if set == nil {
		return None
	}
	if set.Reclaimable(nowNs, int64(p.Grace)) {
		return Tombstone
	}
	clock := set.Clock()
	if p.Prune.KeepEntries < 1 || len(clock) <= p.Prune.KeepEntries {
		return None
	}
	nowMs := nowNs / int64(time.Millisecond)
	sibs := set.Siblings()
	for _, e := range clock {
		node, ok := version.NodeOf(e.Actor)
		if !ok || !slices.Contains(owners, node) || nowMs-e.UpdatedMs < p.Prune.MinAgeMs {
			continue
		}
		if !slices.ContainsFunc(sibs, func(s version.Sibling) bool { return s.Dot.Actor == e.Actor }) {
			return Prune
		}
	}
	return None
}

// Retired returns the actors of set's clock that are earlier incarnations of
// node's vnode: node@X with X not current. Only the vnode of a partition on
// node issues dots under node@... for that partition's keys, and it draws a
// new X at every open and never returns to an old one, so such an actor will
// never issue a dot again.
func Retired(set *version.Set, node, current string) []string {
	var out []string
	for _, e := range set.Clock() {
		if n, ok := version.NodeOf(e.Actor); ok && n == node && e.Actor != current {
			out = append(out, e.Actor)
		}
	}
	return out
}

// Candidate is a key the coordinator's vnode listed for a pass.
type Candidate struct {
	Key    []byte
	Digest []byte // of Set, as the Merkle tree holds it
	Set    *version.Set
	Kind   Kind // Classify's verdict
}

// Answer is one primary's answer to the check of a pass's candidates (the
// coordinator's own comes from its listing: it holds every candidate).
type Answer struct {
	// Node is the primary that answers.
	Node string
	// Held[i] says the primary stores Candidates[i].Key with exactly
	// Candidates[i].Digest.
	Held []bool
	// Absent[i] says the primary has nothing of Candidates[i].Key (nil
	// from a primary that does not say).
	Absent []bool
	// Retired are the primary's own retired incarnations (Retired) among
	// the held keys' clocks. Only actors of Node count: a vnode retires no
	// other node's actor.
	Retired []string
}

func (a Answer) absent(i int) bool { return i < len(a.Absent) && a.Absent[i] }

// Item is what every primary applies to one key, if it still stores the key
// with Digest.
type Item struct {
	Key, Digest []byte
	// Set nil deletes the key (a tombstone); otherwise Set replaces it: the
	// same version with a pruned clock.
	Set *version.Set
	// Pruned is how many clock entries Set drops.
	Pruned int
}

// Plan decides a pass. cands are the coordinator's candidates, answers
// those of every primary of the partition, the coordinator's included (one
// per primary, Held aligned with cands).
//
// A key is acted on only when every primary holds it with the candidate's
// digest: then nothing any primary stores is newer, so deleting a tombstone
// or dropping clock entries hides no version a primary still has. A dead
// key is also deleted where some primaries hold nothing of it (they reaped
// it in an earlier pass whose apply another missed, or never had it): they
// hold no older version either.
//   - A dead key (Kind Tombstone, every sibling a delete or expired) becomes
//     a delete.
//   - Any other candidate is pruned with version.Prune: stable is its own
//     clock (every primary's clock), Retired the union of the retired
//     incarnations named (an actor is retired only on its own vnode's word),
//     so only entries of retired actors, at least MinAgeMs old and needed by
//     no sibling, go. A prune that drops nothing is no item.
//
// What this cannot see is a version held outside the primaries: a hint, a
// node that held the partition before the ring changed, a backup. A reaped
// tombstone lets such an old value back, and so does a pruned entry (the
// old value's dot is no longer covered): that is what Grace and MinAgeMs
// bound (docs/design.md, "Deletes").
func Plan(cands []Candidate, answers []Answer, p Policy, nowMs int64) ([]Item, error) {
	retired := map[string]bool{}
	for _, a := range answers {
		if len(a.Held) != len(cands) {
			return nil, fmt.Errorf("%w: %s answered for %d keys, %d were checked", ErrInvalid, a.Node, len(a.Held), len(cands))
		}
		for _, r := range a.Retired {
			if n, ok := version.NodeOf(r); ok && n == a.Node {
				retired[r] = true
			}
		}
	}
	prune := p.Prune
	prune.Retired = func(actor string) bool { return retired[actor] }
	var items []Item
	for i, c := range cands {
		if c.Set == nil || slices.ContainsFunc(answers, func(a Answer) bool { return !a.Held[i] && !(c.Kind == Tombstone && a.absent(i)) }) {
			continue
		}
		switch c.Kind {
		case Tombstone:
			if _, dead := c.Set.DeadSince(nowMs * int64(time.Millisecond)); p.Grace > 0 && dead {
				items = append(items, Item{Key: c.Key, Digest: c.Digest})
			}
		case Prune:
			if p.Prune.KeepEntries < 1 {
				continue
			}
			pruned, err := version.Prune(c.Set, c.Set.Clock(), prune, nowMs)
			if err != nil {
				return nil, err
			}
			if n := len(c.Set.Clock()) - len(pruned.Clock()); n > 0 {
				items = append(items, Item{Key: c.Key, Digest: c.Digest, Set: pruned, Pruned: n})
			}
		}
	}
	return items, nil
}

// IsPruneOf reports whether replacement is stored with its clock pruned:
// the same siblings, and a clock that keeps some of stored's entries with
// their counters, among them current's (the replica's own actor, which
// still issues dots). A vnode replaces a key only with such a set.
func IsPruneOf(stored, replacement *version.Set, current string) bool {
	if stored == nil || replacement == nil {
		return false
	}
	if !slices.EqualFunc(stored.Siblings(), replacement.Siblings(), version.Sibling.Equal) {
		return false
	}
	sc, rc := stored.Clock(), replacement.Clock()
	for _, e := range rc {
		if sc.Get(e.Actor) != e.Counter {
			return false
		}
	}
	return sc.Get(current) == rc.Get(current)
}
