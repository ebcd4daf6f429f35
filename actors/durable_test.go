package actors

import (
	"errors"
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
		c.durability, c.sync = coordinator.DurableOne, true
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

// A replica acks a write only once it is durable: a replica whose fsyncs
// fail refuses every write, and W=3 fails while W=2 succeeds.
func TestClusterReplicaAcksOnlyDurableWrites(t *testing.T) {
	const key = "k-fsync"
	var failing string
	c := newTestCluster(t, 3, func(c *testCluster) {
		c.sync = true
		c.wrap = func(name string, e storage.Engine) storage.Engine {
			return &failingSyncs{Engine: e, fail: func() bool { return name == failing }}
		}
	})
	owners := c.owners(key)
	failing = owners[2]
	if r := c.put(c.index(owners[0]), key, "v1", nil, 3); r.GetError() == nil {
		t.Fatal("W=3 succeeded with a replica whose fsyncs fail")
	}
	if r := c.put(c.index(owners[0]), key+"b", "v2", nil, 2); r.GetError() != nil && c.owners(key + "b")[0] == owners[0] {
		t.Fatalf("W=2 with one replica's fsyncs failing: %v", r.GetError())
	}
}

// failingSyncs fails the synced writes while fail says so.
type failingSyncs struct {
	storage.Engine
	fail func() bool
}

func (f *failingSyncs) Write(b *storage.Batch, opts storage.WriteOptions) error {
	if opts.Sync && f.fail() {
		return errors.New("fsync: disk on fire")
	}
	return f.Engine.Write(b, opts)
}
