package ring

import (
	"cmp"
	"fmt"
	"slices"
)

// Ring is an immutable ownership map computed from a membership view.
type Ring struct {
	cfg     Config
	members []Member // every member given, sorted by name
	index   map[string]int
	owning  []int     // indices into members of members that own partitions
	prefs   [][]int32 // per partition: owners then fallbacks (indices into members)
	n       int       // effective N: min(N, owning members)
	share   map[string]float64
}

// New computes the ring for cfg and members. Members may be given in any
// order; names must be unique.
func New(cfg Config, members []Member) (*Ring, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := validateMembers(members); err != nil {
		return nil, err
	}
	r := &Ring{cfg: cfg, members: slices.Clone(members), index: map[string]int{}, share: map[string]float64{}}
	slices.SortFunc(r.members, func(a, b Member) int { return cmp.Compare(a.Name, b.Name) })
	var owning []Member
	for i, m := range r.members {
		r.index[m.Name] = i
		if m.owns() {
			r.owning = append(r.owning, i)
			owning = append(owning, m)
		}
	}
	owners, share := assign(cfg.Partitions, cfg.N, owning)
	r.n = min(cfg.N, len(owning))
	for k, s := range share {
		r.share[owning[k].Name] = s
	}
	seeds := make([]uint64, len(owning))
	for k, m := range owning {
		seeds[k] = seed64(m.Name)
	}
	r.prefs = make([][]int32, cfg.Partitions)
	for p := range r.prefs {
		pl := make([]int32, 0, len(owning))
		for _, k := range owners[p] {
			pl = append(pl, int32(r.owning[k]))
		}
		rest := make([]int, 0, len(owning))
		for k := range owning {
			if !slices.Contains(owners[p], int32(k)) {
				rest = append(rest, k)
			}
		}
		slices.SortFunc(rest, func(a, b int) int {
			sa, sb := score(seeds[a], owning[a].Weight, uint32(p)), score(seeds[b], owning[b].Weight, uint32(p))
			if c := cmp.Compare(sb, sa); c != 0 {
				return c
			}
			return cmp.Compare(owning[a].Name, owning[b].Name)
		})
		for _, k := range rest {
			pl = append(pl, int32(r.owning[k]))
		}
		r.prefs[p] = pl
	}
	return r, nil
}

// Config returns the ring's configuration.
func (r *Ring) Config() Config { return r.cfg }

// N is the number of primaries per partition: the configured N, or fewer
// while the cluster has fewer owning members.
func (r *Ring) N() int { return r.n }

// Members returns the membership view, sorted by name.
func (r *Ring) Members() []Member { return slices.Clone(r.members) }

// Member looks a member up by name.
func (r *Ring) Member(name string) (Member, bool) {
	i, ok := r.index[name]
	if !ok {
		return Member{}, false
	}
	return r.members[i], true
}

// Partition returns the partition of key.
func (r *Ring) Partition(key []byte) uint32 { return PartitionOf(HashKey(key), r.cfg.Partitions) }

// Owners returns the N primaries of partition p, best first.
func (r *Ring) Owners(p uint32) []string { return r.names(r.prefs[p][:r.n]) }

// PreferenceList returns the primaries of p followed by the fallbacks in
// the order sloppy quorum uses them.
func (r *Ring) PreferenceList(p uint32) []string { return r.names(r.prefs[p]) }

func (r *Ring) names(ids []int32) []string {
	out := make([]string, len(ids))
	for k, i := range ids {
		out[k] = r.members[i].Name
	}
	return out
}

// IsOwner reports whether node is a primary of p.
func (r *Ring) IsOwner(p uint32, node string) bool {
	i, ok := r.index[node]
	return ok && slices.Contains(r.prefs[p][:r.n], int32(i))
}

// PartitionsOf returns the partitions node is a primary of, ascending.
func (r *Ring) PartitionsOf(node string) ([]uint32, error) {
	if _, ok := r.index[node]; !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownNode, node)
	}
	var out []uint32
	for p := range uint32(len(r.prefs)) {
		if r.IsOwner(p, node) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Loads returns how many partition replicas each owning member holds.
func (r *Ring) Loads() map[string]int {
	out := map[string]int{}
	for _, i := range r.owning {
		out[r.members[i].Name] = 0
	}
	for _, pl := range r.prefs {
		for _, i := range pl[:r.n] {
			out[r.members[i].Name]++
		}
	}
	return out
}

// Share returns each owning member's capacity-weighted share of the Q·N
// replicas: its ideal load.
func (r *Ring) Share() map[string]float64 {
	out := make(map[string]float64, len(r.share))
	for k, v := range r.share {
		out[k] = v
	}
	return out
}

// Balance is the largest ratio of a member's load to its weighted share
// (1.0 is perfect).
func (r *Ring) Balance() float64 {
	worst := 0.0
	for name, l := range r.Loads() {
		if s := r.share[name]; s > 0 {
			worst = max(worst, float64(l)/s)
		}
	}
	return worst
}

// Moved counts the partition replicas that change hands between two rings
// of the same Q: for every partition, the primaries of b that were not
// primaries in a.
func Moved(a, b *Ring) (int, error) {
	if a.cfg.Partitions != b.cfg.Partitions {
		return 0, fmt.Errorf("%w: rings of %d and %d partitions cannot be compared", ErrInvalid, a.cfg.Partitions, b.cfg.Partitions)
	}
	moved := 0
	for p := range uint32(a.cfg.Partitions) {
		old := a.Owners(p)
		for _, o := range b.Owners(p) {
			if !slices.Contains(old, o) {
				moved++
			}
		}
	}
	return moved, nil
}
