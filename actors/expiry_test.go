package actors

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
)

func (c *testCluster) putTTL(via int, key, value string, ctx []byte, ttl time.Duration) *messages.PutReply {
	c.t.Helper()
	c.nextID++
	return c.send(via, messages.Wrap(c.nextID, &messages.PutRequest{Key: []byte(key), Value: []byte(value), Context: ctx, W: 3,
		TtlMs: proto.Uint64(uint64(ttl / time.Millisecond))})).GetPutReply()
}

func liveOf(s *version.Set) []string {
	live, _ := s.Live(version.ModeSiblings, time.Now().UnixNano())
	var out []string
	for _, l := range live {
		out = append(out, string(l.Value))
	}
	slices.Sort(out)
	return out
}

// Values with a time to live read as absent once it runs out, on every
// replica and through every node; a sibling without one survives; the
// reap passes then delete the expired keys from every replica, a node that
// was down included, and nothing brings them back.
func TestClusterExpiredValuesReadAbsentAndAreReaped(t *testing.T) {
	c := newTestCluster(t, 3, func(c *testCluster) {
		c.antiEntropy, c.reap = true, true
		c.reapCfg = ReapConfig{TombstoneGrace: 300 * time.Millisecond, Every: 20 * time.Millisecond}
	})
	const ttl = 500 * time.Millisecond
	start := time.Now()
	for _, p := range []*messages.PutReply{
		c.putTTL(0, "short", "s", nil, ttl),
		c.putTTL(1, "long", "l", nil, time.Hour),
		c.put(2, "none", "n", nil, 3),
		c.putTTL(0, "mixed", "expiring", nil, ttl),
		c.put(1, "mixed", "forever", nil, 3), // blind: a sibling
		c.putTTL(2, "claim", "first", nil, ttl),
	} {
		if p.GetError() != nil {
			t.Fatal(p.GetError())
		}
	}
	g := c.get(1, "short", 3)
	if !g.GetFound() || len(g.GetExpiresAtNs()) != 1 {
		t.Fatalf("short before its expiry: %v", g)
	}
	if e := time.Unix(0, g.GetExpiresAtNs()[0]); e.Before(start.Add(ttl)) || e.After(time.Now().Add(ttl)) {
		t.Fatalf("short expires at %v, want %v after the write (%v)", e, ttl, start)
	}
	if g := c.get(0, "none", 3); len(g.GetExpiresAtNs()) != 0 {
		t.Fatalf("a value without a ttl reads with expiries %v", g.GetExpiresAtNs())
	}
	// One node misses a write with a ttl: it is down.
	c.stop(2, true)
	c.nextID++
	missedAt := time.Now() // its expiry counts from here, not from start
	if p := c.send(0, messages.Wrap(c.nextID, &messages.PutRequest{Key: []byte("missed"), Value: []byte("m"), W: 2, TtlMs: proto.Uint64(uint64(ttl / time.Millisecond))})).GetPutReply(); p.GetError() != nil {
		t.Fatal(p.GetError())
	}
	time.Sleep(time.Until(missedAt.Add(ttl + 100*time.Millisecond)))
	c.restart(2)
	for via := range 3 {
		for _, k := range []string{"short", "missed"} {
			if g := c.get(via, k, 3); g.GetFound() {
				t.Fatalf("%s through %s after its expiry: %v", k, c.nodes[via].name, g)
			}
		}
		if g := c.get(via, "mixed", 3); !g.GetFound() || len(g.GetValues()) != 1 || string(g.GetValues()[0]) != "forever" {
			t.Fatalf("mixed through %s: %v, want only the value without a ttl", c.nodes[via].name, g)
		}
		if g := c.get(via, "long", 3); !g.GetFound() {
			t.Fatalf("long through %s: not found", c.nodes[via].name)
		}
	}
	// An if-absent put takes an expired key.
	if p := c.putIfAbsent(1, "claim", "second"); p.GetError() != nil {
		t.Fatalf("if-absent put of an expired key: %v", p.GetError())
	}
	if g := c.get(0, "claim", 3); len(g.GetValues()) != 1 || string(g.GetValues()[0]) != "second" {
		t.Fatalf("claim after the if-absent put: %v", g)
	}
	c.eventually("the expired keys reaped from every replica", func() bool {
		return c.storedAnywhere("short") == 0 && c.storedAnywhere("missed") == 0
	})
	for i := range c.nodes {
		if got := liveOf(c.stored(i, "mixed")); !slices.Equal(got, []string{"forever"}) {
			t.Fatalf("%s holds mixed as %v", c.nodes[i].name, got)
		}
		if c.stored(i, "long") == nil || c.stored(i, "none") == nil {
			t.Fatalf("%s lost a live key", c.nodes[i].name)
		}
	}
	// Anti-entropy and the reap passes keep running: nothing comes back.
	time.Sleep(300 * time.Millisecond)
	if n := c.storedAnywhere("short") + c.storedAnywhere("missed"); n != 0 {
		t.Fatalf("reaped keys came back on %d replicas", n)
	}
}

// A replica that has reaped a dead key while the partition's first primary
// (which coordinates its reap passes) still holds it is not given it back
// by anti-entropy, and the first primary's next pass reaps it where it is
// still held: the replicas are never different only because one has
// reclaimed a key. When the first primary is the one that lacks it, it is
// given the key back, so that its passes see it, and it is reaped
// everywhere.
func TestAntiEntropyDoesNotGiveBackAReapedKey(t *testing.T) {
	c := newTestCluster(t, 3, func(c *testCluster) {
		c.antiEntropy, c.reap = true, true
		// Passes 1 s apart: anti-entropy (every 2 ms) has time to give a
		// key back before the next pass reaps it.
		c.reapCfg = ReapConfig{TombstoneGrace: 200 * time.Millisecond, Every: time.Second}
	})
	time.Sleep(300 * time.Millisecond) // the first passes, over empty partitions
	past := time.Now().Add(-2 * time.Hour).UnixNano()
	expired, err := version.Update(nil, version.Context{}, version.Write{Value: []byte("x"), Timestamp: past, TTLNs: int64(time.Hour)}, "node-2@00000000000000aa", past/1e6)
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := version.Update(nil, version.Context{}, version.Write{Tombstone: true, Timestamp: past}, "node-2@00000000000000aa", past/1e6)
	if err != nil {
		t.Fatal(err)
	}
	// For each key, every replica but one holds it: one key per kind and
	// per role of the replica that lacks it.
	type lacking struct {
		key  string
		node int // the replica that lacks it
		// first: it is the key's first primary.
		first bool
	}
	var keys []lacking
	sets := map[string]*version.Set{}
	for _, kind := range []struct {
		name string
		set  *version.Set
	}{{"expired", expired}, {"deleted", deleted}} {
		for _, first := range []bool{false, true} {
			for i := 0; ; i++ {
				k := fmt.Sprintf("%s-%v-%d", kind.name, first, i)
				owners := c.owners(k)
				lack := c.index(owners[1])
				if first {
					lack = c.index(owners[0])
				}
				if slices.ContainsFunc(keys, func(l lacking) bool { return l.first == first && l.node == lack }) && i < 50 {
					continue // spread the lacking replicas over the nodes
				}
				keys = append(keys, lacking{key: k, node: lack, first: first})
				sets[k] = kind.set
				for j := range c.nodes {
					if j != lack {
						c.mergeInto(j, k, kind.set, messages.ReplicaPutKind_REPLICA_PUT_KIND_ANTI_ENTROPY)
					}
				}
				break
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := 0
		for _, l := range keys {
			if !l.first && c.stored(l.node, l.key) != nil {
				t.Fatalf("anti-entropy gave %s back the reaped key %q", c.nodes[l.node].name, l.key)
			}
			left += c.storedAnywhere(l.key)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d replicas of %v still hold their keys", left, keys)
		}
		time.Sleep(time.Millisecond)
	}
}

// A corrupt copy of a key dead past the grace is not "lacking" the key:
// anti-entropy replaces it with the others' version, and the key is then
// reaped everywhere.
func TestCorruptReplicaOfAReclaimableKeyIsRepaired(t *testing.T) {
	c := newTestCluster(t, 3, func(c *testCluster) {
		c.noHints, c.antiEntropy, c.reap = true, true, true
		c.reapCfg = ReapConfig{TombstoneGrace: 200 * time.Millisecond, Every: 2 * time.Second}
	})
	time.Sleep(300 * time.Millisecond) // the first passes, over empty partitions
	past := time.Now().Add(-2 * time.Hour).UnixNano()
	deleted, err := version.Update(nil, version.Context{}, version.Write{Tombstone: true, Timestamp: past}, "node-2@00000000000000aa", past/1e6)
	if err != nil {
		t.Fatal(err)
	}
	const k = "rot-after-grace"
	second := c.index(c.owners(k)[1])
	for i := range c.nodes {
		c.mergeInto(i, k, deleted, messages.ReplicaPutKind_REPLICA_PUT_KIND_ANTI_ENTROPY)
	}
	c.nextID++
	if e := c.send(second, messages.Wrap(c.nextID, &messages.FaultRequest{Component: "corrupt", Key: []byte(k)})).GetFaultReply().GetError(); e != nil {
		t.Fatal(e)
	}
	c.eventually("the corrupt replica repaired and the key reaped everywhere", func() bool {
		return c.replicaGet(second, k).GetError().GetCode() != messages.ErrorCode_ERROR_CODE_CORRUPT && c.storedAnywhere(k) == 0
	})
}
