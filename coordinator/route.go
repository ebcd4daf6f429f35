package coordinator

import (
	"errors"
	"fmt"

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
	Op        string // "read" or "write"
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
	// fallback (HintFor names the primary), in preference order.
	Targets []ring.Target
}

// RouteKey computes the route of key on r, skipping the nodes down reports.
func RouteKey(r *ring.Ring, key []byte, down func(node string) bool) Route {
	p := r.Partition(key)
	return Route{Partition: p, N: r.Config().N, Targets: ring.SloppyTargets(r.PreferenceList(p), r.N(), down)}
}

func (rt Route) hintFor(node string) string {
	for _, t := range rt.Targets {
		if t.Node == node {
			return t.HintFor
		}
	}
	return ""
}
