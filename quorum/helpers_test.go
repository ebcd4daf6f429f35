package quorum

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// vset is the toy stored object of the tests: a set of grow-only counters,
// one per writer. Merge is the pointwise max, Descends the pointwise >=.
type vset map[string]int

func mergeVset(a, b vset) vset {
	out := make(vset, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if v > out[k] {
			out[k] = v
		}
	}
	return out
}

func descendsVset(a, b vset) bool {
	for k, v := range b {
		if a[k] < v {
			return false
		}
	}
	return true
}

var vsetObject = Object[vset]{Merge: mergeVset, Descends: descendsVset}

// String gives a canonical form, for comparisons and messages.
func (v vset) String() string {
	if v == nil {
		return "<nil>"
	}
	keys := slices.Sorted(maps.Keys(v))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, v[k])
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func nodes(names ...string) []Node {
	out := make([]Node, len(names))
	for i, n := range names {
		out[i] = Node(n)
	}
	return out
}

func nodeNames(n int) []Node {
	out := make([]Node, n)
	for i := range out {
		out[i] = Node(fmt.Sprintf("n%d", i))
	}
	return out
}

func mustGet(t *testing.T, cfg GetConfig[vset]) *GetCore[vset] {
	t.Helper()
	if cfg.Object.Merge == nil {
		cfg.Object = vsetObject
	}
	c, err := NewGetCore(cfg)
	if err != nil {
		t.Fatalf("NewGetCore(%+v): %v", cfg, err)
	}
	return c
}

func mustPut(t *testing.T, cfg PutConfig) *PutCore {
	t.Helper()
	c, err := NewPutCore(cfg)
	if err != nil {
		t.Fatalf("NewPutCore(%+v): %v", cfg, err)
	}
	return c
}

func mustAdd(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
}

// causeNodes renders the causes of an error as "node:Kind" in order.
func causeNodes(cs []Cause) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s:%v", c.Node, c.Kind)
	}
	return strings.Join(parts, ",")
}
