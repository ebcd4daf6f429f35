package actors

import (
	"fmt"
	"slices"
	"testing"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
)

// A listing through the router merges every up primary's page: keys that
// one replica lacks (here node 0 of each key's three, as a new owner
// before its handoff would) are listed, each once; a key whose delete one
// replica missed is not; a partition out of range is refused.
func TestClusterListKeysMergesReplicas(t *testing.T) {
	c := newTestCluster(t, 3)
	want := map[uint32][]string{}
	// A delete that node 0 missed: the others hold the tombstone that
	// covers its value, so the key is not listed.
	gone := "list-deleted"
	v, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: 1}, "w@1", 1)
	tomb, _ := version.Update(v, version.ContextOf(v), version.Write{Tombstone: true, Timestamp: 2}, "w@1", 2)
	c.mergeInto(0, gone, v, messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE)
	for _, n := range []int{1, 2} {
		c.mergeInto(n, gone, tomb, messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE)
	}
	for i := range 60 {
		key := fmt.Sprint("list-", i)
		set, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: 1}, "w@1", 1)
		for _, n := range []int{1, 2} {
			c.mergeInto(n, key, set, messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE)
		}
		p := ring.PartitionOf(ring.HashKey([]byte(key)), testQ)
		want[p] = append(want[p], key)
	}
	for p := uint32(0); p < testQ; p++ {
		var got []string
		var after []byte
		for pages := 0; ; pages++ {
			if pages > 50 {
				t.Fatalf("partition %d: no end", p)
			}
			c.nextID++
			r := c.send(pages%3, messages.Wrap(c.nextID, &messages.ListKeysRequest{Partition: p, After: after, Limit: 2})).GetListKeysReply()
			if r.GetError() != nil || len(r.GetKeys()) > 2 {
				t.Fatalf("partition %d: %v", p, r)
			}
			for _, k := range r.GetKeys() {
				got = append(got, string(k))
			}
			if r.GetDone() {
				break
			}
			after = r.GetNext()
		}
		slices.Sort(got)
		w := slices.Clone(want[p])
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Fatalf("partition %d: listed %q, want %q", p, got, w)
		}
	}
	c.nextID++
	if r := c.send(0, messages.Wrap(c.nextID, &messages.ListKeysRequest{Partition: testQ})).GetListKeysReply(); r.GetError().GetField() != "partition" {
		t.Fatalf("partition Q: %v", r)
	}
}
