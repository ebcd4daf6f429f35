package actors

import (
	"testing"

	"github.com/dynamokv/dynamo/messages"
)

// A corrupt request overwrites a replica's stored object under its running
// vnode, which then reads it as corrupt (its cache forgot it); without a
// key it corrupts random keys of the partition. Bad requests name the
// field; "disk" needs a node that can fail its storage writes (these test
// nodes cannot).
func TestClusterFaultInjectionCorruptsStoredObjects(t *testing.T) {
	c := newTestCluster(t, 3)
	key := "rotten"
	i := c.index(c.owners(key)[0])
	if r := c.put(i, key, "v1", nil, 3); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	if r := c.replicaGet(i, key); !holds(r, "v1") { // now in the vnode's cache
		t.Fatalf("before: %v", r)
	}
	p := c.replicaGet(i, key).GetPartition()
	fault := func(f *messages.FaultRequest) *messages.Error {
		c.nextID++
		return c.send(i, messages.Wrap(c.nextID, f)).GetFaultReply().GetError()
	}
	if e := fault(&messages.FaultRequest{Component: "corrupt", Key: []byte(key)}); e != nil {
		t.Fatal(e)
	}
	c.eventually("the replica reads as corrupt", func() bool {
		return c.replicaGet(i, key).GetError().GetCode() == messages.ErrorCode_ERROR_CODE_CORRUPT
	})
	for j, other := range c.nodes {
		if j != i && !holds(c.replicaGet(j, key), "v1") {
			t.Fatalf("%s's replica changed", other.name)
		}
	}

	key2 := "rotten-too"
	j := c.index(c.owners(key2)[0])
	if r := c.put(j, key2, "v2", nil, 3); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	p2 := c.replicaGet(j, key2).GetPartition()
	i = j
	if e := fault(&messages.FaultRequest{Component: "corrupt", Partition: p2, Keys: 1000}); e != nil {
		t.Fatal(e)
	}
	c.eventually("every key of the partition reads as corrupt", func() bool {
		return c.replicaGet(j, key2).GetError().GetCode() == messages.ErrorCode_ERROR_CODE_CORRUPT
	})

	if e := fault(&messages.FaultRequest{Component: "corrupt", Partition: p}); e.GetField() != "keys" {
		t.Fatalf("no key and no count: %v", e)
	}
	if e := fault(&messages.FaultRequest{Component: "corrupt", Partition: 9999, Keys: 1}); e.GetField() != "partition" {
		t.Fatalf("partition not held: %v", e)
	}
	if e := fault(&messages.FaultRequest{Component: "disk", FailWritesMs: 1000}); e.GetField() != "component" {
		t.Fatalf("disk fault on a node that cannot: %v", e)
	}
}
