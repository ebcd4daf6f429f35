package actors

import (
	"slices"
	"sync"
	"testing"

	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/storage"
)

// syncLog is an engine that records whether each data write was synced,
// and counts the synced meta writes (the Flusher's).
type syncLog struct {
	storage.Engine
	mu      sync.Mutex
	data    []bool
	flushes int
}

func (l *syncLog) Write(b *storage.Batch, opts storage.WriteOptions) error {
	err := l.Engine.Write(b, opts)
	if err == nil && b.Len() > 0 {
		l.mu.Lock()
		switch b.Keyspace(0) {
		case storage.KeyspaceData:
			l.data = append(l.data, opts.Sync)
		case storage.KeyspaceMeta:
			if opts.Sync {
				l.flushes++
			}
		}
		l.mu.Unlock()
	}
	return err
}

func (l *syncLog) state() ([]bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.data), l.flushes
}

// With durable writes "one", the coordinator fsyncs its own copy and the
// other primaries take theirs buffered, fsynced by their Flusher soon
// after.
func TestClusterDurableOneBuffersTheOtherReplicas(t *testing.T) {
	var mu sync.Mutex
	logs := map[string]*syncLog{}
	c := newTestCluster(t, 3, func(c *testCluster) {
		c.durability = coordinator.DurableOne
		c.wrap = func(name string, e storage.Engine) storage.Engine {
			l := &syncLog{Engine: e}
			mu.Lock()
			logs[name] = l
			mu.Unlock()
			return l
		}
	})
	key := "k-durable"
	owners := c.owners(key)
	if r := c.put(c.index(owners[0]), key, "v1", nil, 2); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	if data, _ := logs[owners[0]].state(); !slices.Equal(data, []bool{true}) {
		t.Fatalf("the coordinator's writes synced %v, want [true]", data)
	}
	for _, o := range owners[1:] {
		c.eventually(o+" takes the write buffered, then flushes it", func() bool {
			data, flushes := logs[o].state()
			return slices.Equal(data, []bool{false}) && flushes >= 1
		})
	}
	if g := c.get(c.index(owners[1]), key, 3); g.GetError() != nil || !slices.Equal(values(g), []string{"v1"}) {
		t.Fatalf("read of all three: %v", g)
	}
}
