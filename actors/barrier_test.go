package actors

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/coordinator"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/vnode"
)

// barrierLog records, in one order across a cluster's engines, each
// node's first synced barrier write per partition (vnode.SyncKey) and its
// first delete of a partition's data.
type barrierLog struct {
	mu     sync.Mutex
	seq    int
	synced map[string]map[uint32]int
	drops  map[string]map[uint32]int
}

func (l *barrierLog) note(m map[string]map[uint32]int, node string, p uint32) {
	if m[node] == nil {
		m[node] = map[uint32]int{}
	}
	if _, ok := m[node][p]; !ok {
		l.seq++
		m[node][p] = l.seq
	}
}

// loggedEngine is a node's engine under a barrierLog.
type loggedEngine struct {
	storage.Engine
	node string
	log  *barrierLog
}

func (e *loggedEngine) Write(b *storage.Batch, opts storage.WriteOptions) error {
	if err := e.Engine.Write(b, opts); err != nil {
		return err
	}
	l := e.log
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range b.Len() {
		ks, del, key := b.Op(i)
		switch {
		case ks == storage.KeyspaceMeta && del && opts.Sync && bytes.HasPrefix(key, []byte("vnode-sync/")):
			for p := range uint32(testQ) {
				if bytes.Equal(key, vnode.SyncKey(p)) {
					l.note(l.synced, e.node, p)
				}
			}
		case ks == storage.KeyspaceData && del:
			if p, _, _, err := storage.ParseObjectKey(key); err == nil {
				l.note(l.drops, e.node, p)
			}
		}
	}
	return nil
}

// With durable writes "one", a leaving node's co-owners hold the writes
// it coordinated as buffered copies, and the handoff pushes them nothing
// (their trees match): the leaving node drops its partitions, its durable
// copies, only after each new owner answered the handoff's barrier by
// making what it holds durable.
func TestClusterHandoffMakesTheNewOwnersCopiesDurableBeforeTheDrop(t *testing.T) {
	log := &barrierLog{synced: map[string]map[uint32]int{}, drops: map[string]map[uint32]int{}}
	c := newTestCluster(t, 4, func(c *testCluster) {
		c.antiEntropy, c.sync, c.durability = true, true, coordinator.DurableOne
		c.flushInterval = time.Hour // buffered copies stay unsynced
		c.wrap = func(node string, e storage.Engine) storage.Engine {
			return &loggedEngine{Engine: e, node: node, log: log}
		}
	})
	r := c.currentRing()
	leaving := c.nodes[3].name
	// Keys coordinated by the leaving node: it is their first owner.
	coowners := map[uint32][]string{}
	var keys []string
	for i := 0; len(keys) < 40 && i < 10000; i++ {
		k := fmt.Sprintf("bar-%d", i)
		p := r.Partition([]byte(k))
		owners := r.Owners(p)
		if owners[0] != leaving {
			continue
		}
		if rep := c.put(3, k, "v-"+k, nil, 3); rep.GetError() != nil {
			t.Fatalf("put %s: %v", k, rep.GetError())
		}
		keys = append(keys, k)
		coowners[p] = owners[1:]
	}
	if len(coowners) == 0 {
		t.Fatal("no key whose first owner is the leaving node")
	}
	// Only what happens from the leave on counts.
	log.mu.Lock()
	log.synced = map[string]map[uint32]int{}
	log.mu.Unlock()
	c.setLeaving(3)
	c.eventually("the leaving node handed every partition off", func() bool {
		ok, _ := c.handedOff(keys)
		return ok && len(c.held(3)) == 0
	})
	log.mu.Lock()
	defer log.mu.Unlock()
	for p, others := range coowners {
		drop, ok := log.drops[leaving][p]
		if !ok {
			t.Fatalf("%s never deleted partition %d's data", leaving, p)
		}
		for _, o := range others {
			at, ok := log.synced[o][p]
			if !ok || at > drop {
				t.Errorf("partition %d: %s dropped it (event %d) before its co-owner %s made its buffered copies durable (event %d, found %v)", p, leaving, drop, o, at, ok)
			}
		}
	}
}
