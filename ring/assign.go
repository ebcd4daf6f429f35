package ring

import (
	"cmp"
	"crypto/md5"
	"encoding/binary"
	"math"
	"slices"
)

// Slack is how far above its weighted share a member's load may go while
// the greedy assignment runs: caps are floor(share*(1+Slack)), raised to
// ceil(share) only where the lower caps could not hold every replica. Slack
// lets members keep their best-scored partitions when another joins or
// leaves, which is what keeps movement near the ideal.
const Slack = 0.10

// seed64 is a member's 64-bit rendezvous seed.
func seed64(name string) uint64 {
	h := md5.Sum([]byte(name))
	return binary.BigEndian.Uint64(h[:8])
}

// splitmix64 finalizer: a fast, well-mixed 64-bit hash.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// scoreTable returns the stratified weighted rendezvous scores, indexed
// p*len(members)+i. Each member ranks the partitions by a hash of (its seed,
// p) and takes u = (rank+½)/Q, so its u values are exactly one per 1/Q
// stratum instead of Q independent uniforms: a member's partitions where it
// scores high are evenly many, which roughly halves the variance of the
// unconstrained loads and so how many members the caps bind. A member's
// scores depend only on its own name and weight, so a join or leave leaves
// everyone else's scores unchanged.
func scoreTable(q int, members []Member, seeds []uint64) []float64 {
	m := len(members)
	tab := make([]float64, q*m)
	idx := make([]int, q)
	key := make([]uint64, q)
	for i, mb := range members {
		for p := range q {
			idx[p], key[p] = p, mix(seeds[i]^mix(uint64(p)))
		}
		slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(key[a], key[b]) })
		for r, p := range idx {
			u := (float64(r) + 0.5) / float64(q)
			tab[p*m+i] = -float64(mb.Weight) / math.Log(u)
		}
	}
	return tab
}

// score is the weighted rendezvous score of a member for a partition:
// -w/ln(u) with u uniform in (0,1). Higher is better.
func score(seed uint64, weight int, p uint32) float64 {
	u := (float64(mix(seed^mix(uint64(p)))>>11) + 0.5) / (1 << 53)
	return -float64(weight) / math.Log(u)
}

// waterFill divides total among items in proportion to weights, no item
// above its cap: a_i = min(cap_i, λ·w_i) with Σ a_i = total when the caps
// allow it (otherwise every item gets its cap).
func waterFill(weights, caps []float64, total float64) []float64 {
	idx := make([]int, len(weights))
	var wsum float64
	for i := range idx {
		idx[i] = i
		wsum += weights[i]
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(caps[a]/weights[a], caps[b]/weights[b]) })
	out := make([]float64, len(weights))
	for k, i := range idx {
		if fair := total * weights[i] / wsum; caps[i] <= fair {
			out[i] = caps[i]
			total -= caps[i]
			wsum -= weights[i]
			continue
		}
		for _, j := range idx[k:] {
			out[j] = total * weights[j] / wsum
		}
		break
	}
	return out
}

type candidate struct {
	p     uint32
	m     int32
	score float64
}

// assign computes the N owners of every partition. members are the owning
// members sorted by name. It returns owners per partition (best score
// first) and each member's weighted share of the Q·N replicas.
func assign(q, n int, members []Member) (owners [][]int32, share []float64) {
	m := len(members)
	owners = make([][]int32, q)
	if m == 0 {
		return owners, nil
	}
	n = min(n, m)
	zoneOf, zones := zoneIndex(members)
	useZones := zones >= n && zones > 1

	// Shares: water-filled by weight, no member above Q and, with zones, no
	// zone above Q (a partition has at most one replica per zone).
	weights := make([]float64, m)
	for i, mb := range members {
		weights[i] = float64(mb.Weight)
	}
	share = make([]float64, m)
	total := float64(q * n)
	if useZones {
		zw, zc := make([]float64, zones), make([]float64, zones)
		for i := range members {
			zw[zoneOf[i]] += weights[i]
			zc[zoneOf[i]] = math.Min(float64(q), zc[zoneOf[i]]+float64(q))
		}
		zt := waterFill(zw, zc, total)
		for z := range zones {
			var ws, cs []float64
			var ids []int
			for i := range members {
				if zoneOf[i] == z {
					ids = append(ids, i)
					ws = append(ws, weights[i])
					cs = append(cs, float64(q))
				}
			}
			for k, a := range waterFill(ws, cs, zt[z]) {
				share[ids[k]] = a
			}
		}
	} else {
		caps := make([]float64, m)
		for i := range caps {
			caps[i] = float64(q)
		}
		share = waterFill(weights, caps, total)
	}
	limit := caps(q, share, zoneOf, zones, useZones)

	seeds := make([]uint64, m)
	for i, mb := range members {
		seeds[i] = seed64(mb.Name)
	}
	tab := scoreTable(q, members, seeds)
	sc := func(p uint32, i int32) float64 { return tab[int(p)*m+int(i)] }
	cands := make([]candidate, 0, q*m)
	for p := range uint32(q) {
		for i := range int32(m) {
			cands = append(cands, candidate{p: p, m: i, score: sc(p, i)})
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(members[a.m].Name, members[b.m].Name); c != 0 {
			return c
		}
		return cmp.Compare(a.p, b.p)
	})

	load := make([]int, m)
	fits := func(p uint32, i int32) bool {
		for _, o := range owners[p] {
			if o == i || (useZones && zoneOf[o] == zoneOf[i]) {
				return false
			}
		}
		return true
	}
	for _, c := range cands {
		if len(owners[c.p]) < n && load[c.m] < limit[c.m] && fits(c.p, c.m) {
			owners[c.p] = append(owners[c.p], c.m)
			load[c.m]++
		}
	}
	fill(owners, n, load, limit, fits, sc, members)

	for p := range owners {
		slices.SortFunc(owners[p], func(a, b int32) int {
			sa, sb := sc(uint32(p), a), sc(uint32(p), b)
			if c := cmp.Compare(sb, sa); c != 0 {
				return c
			}
			return cmp.Compare(members[a].Name, members[b].Name)
		})
	}
	return owners, share
}

// fill completes partitions the greedy pass left short: first with any
// member that has room and fits, then by moving a member from another
// partition (where a member with room takes its place), and as a last resort
// over the caps.
func fill(owners [][]int32, n int, load, limit []int, fits func(uint32, int32) bool, sc func(uint32, int32) float64, members []Member) {
	m := int32(len(members))
	best := func(p uint32, ok func(int32) bool) int32 {
		pick, ps := int32(-1), math.Inf(-1)
		for i := range m {
			if ok(i) && fits(p, i) {
				if s := sc(p, i); s > ps {
					pick, ps = i, s
				}
			}
		}
		return pick
	}
	for p := range uint32(len(owners)) {
		for len(owners[p]) < n {
			if i := best(p, func(i int32) bool { return load[i] < limit[i] }); i >= 0 {
				owners[p] = append(owners[p], i)
				load[i]++
				continue
			}
			if swapInto(owners, p, load, limit, fits) {
				continue
			}
			i := best(p, func(int32) bool { return true })
			if i < 0 {
				return // cannot happen: n <= members and zones are enforced only when there are enough
			}
			owners[p] = append(owners[p], i)
			load[i]++
		}
	}
}

// swapInto finds a member x with room that cannot go into p, and a
// partition p2 holding a member y that can: y moves to p, x takes y's place
// in p2. It reports whether it made a swap.
func swapInto(owners [][]int32, p uint32, load, limit []int, fits func(uint32, int32) bool) bool {
	for x := range int32(len(load)) {
		if load[x] >= limit[x] {
			continue
		}
		for p2 := range uint32(len(owners)) {
			if p2 == p || slices.Contains(owners[p2], x) {
				continue
			}
			for k, y := range owners[p2] {
				if !fits(p, y) {
					continue
				}
				owners[p2] = slices.Delete(owners[p2], k, k+1)
				if fits(p2, x) {
					owners[p2] = append(owners[p2], x)
					owners[p] = append(owners[p], y)
					load[x]++
					return true
				}
				owners[p2] = slices.Insert(owners[p2], k, y)
			}
		}
	}
	return false
}

// caps returns each member's load cap: floor(share*(1+Slack)), at most Q.
// Where a small share makes that less than ceil(share) (below ten replicas)
// the caps fall short of the share only if the members (and, under zones,
// every zone) can still hold their replicas; otherwise every cap is
// max(ceil(share), floor(share*(1+Slack))).
func caps(q int, share []float64, zoneOf []int, zones int, useZones bool) []int {
	limit := make([]int, len(share))
	need, have := make([]float64, zones+1), make([]int, zones+1)
	for i, s := range share {
		limit[i] = min(q, int(math.Floor(s*(1+Slack))))
		k := zones // the whole ring
		need[k] += s
		have[k] += limit[i]
		if useZones {
			need[zoneOf[i]] += s
			have[zoneOf[i]] += limit[i]
		}
	}
	for k := range need {
		if float64(have[k]) < math.Ceil(need[k]-1e-9) {
			for i, s := range share {
				limit[i] = min(q, max(int(math.Ceil(s-1e-9)), limit[i]))
			}
			break
		}
	}
	return limit
}

// zoneIndex numbers the members' zones in order of first appearance (the
// members are sorted by name, so the numbering is deterministic).
func zoneIndex(members []Member) ([]int, int) {
	ids := map[string]int{}
	out := make([]int, len(members))
	for i, mb := range members {
		z, ok := ids[mb.Zone]
		if !ok {
			z = len(ids)
			ids[mb.Zone] = z
		}
		out[i] = z
	}
	return out, len(ids)
}
