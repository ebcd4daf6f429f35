package coordinator

import (
	"errors"
	"fmt"

	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/ring"
)

// Errors.
var (
	// ErrUnavailable marks a request that cannot reach enough replicas to
	// ever succeed; it is returned before anything is sent.
	ErrUnavailable = errors.New("coordinator: unavailable")
	// ErrInvalid marks a bad request (R or W out of range, empty key).
	ErrInvalid = errors.New("coordinator: invalid request")
)

// UnavailableError says how many replicas were needed and how many could be
// reached. It wraps ErrUnavailable.
type UnavailableError struct {
	Op        quorum.Op
	Need, Got int
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s unavailable: %d of %d replicas reachable", e.Op, e.Got, e.Need)
}

func (e *UnavailableError) Unwrap() error { return ErrUnavailable }

// Route is where the requests for one key go.
type Route struct {
	Partition uint32
	// N is the cluster's configured replication factor. While the cluster
	// has fewer owning members than N there are fewer Targets, and a quorum
	// above len(Targets) is unavailable rather than invalid.
	N int
	// Targets are the up primaries and, for each down primary, the next up
	// fallback (HintOwner names the primary), in preference order.
	Targets []ring.Target
	// Uncovered are the down primaries no fallback stands in for (the
	// cluster has no spare node, or hinted handoff is off): a write's
	// coordinator keeps a hint for each of them itself.
	Uncovered []string
}

// RouteKey computes the route of key on r, skipping the nodes down reports.
// With sloppy, each down primary is replaced by the next up fallback of the
// preference list (the Dynamo paper's sloppy quorum); without, only the up
// primaries are targets (strict quorum: hinted handoff is off).
func RouteKey(r *ring.Ring, key []byte, down func(node string) bool, sloppy bool) Route {
	p := r.Partition(key)
	pref := r.PreferenceList(p)
	n := min(r.N(), len(pref))
	if !sloppy {
		pref = pref[:n]
	}
	rt := Route{Partition: p, N: r.Config().N, Targets: ring.SloppyTargets(pref, n, down)}
	covered := map[string]bool{}
	for _, t := range rt.Targets {
		covered[t.Node], covered[t.HintOwner] = true, true
	}
	for _, primary := range pref[:n] {
		if !covered[primary] {
			rt.Uncovered = append(rt.Uncovered, primary)
		}
	}
	return rt
}

// owner is the primary a write to target node stands for: node itself, or
// the primary a fallback holds hints for.
func (rt Route) owner(node string) string {
	if h := rt.hintOwner(node); h != "" {
		return h
	}
	return node
}

func (rt Route) hintOwner(node string) string {
	for _, t := range rt.Targets {
		if t.Node == node {
			return t.HintOwner
		}
	}
	return ""
}
