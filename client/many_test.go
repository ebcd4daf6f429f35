package client

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/messages"
	"google.golang.org/protobuf/proto"
)

// GetMany sends one request per node (each key to the node Get would
// ask), returns every key's result in order, keeps a bad key's error to
// itself, and refuses more than MaxGetMany keys before sending anything.
func TestGetManyOneRequestPerNode(t *testing.T) {
	cl := startCluster(t, 3, 2)
	c := cl.newClient(t, cl.nodes[0].addr())
	ctx := bg(t)
	var keys [][]byte
	for i := range 60 {
		k := []byte(fmt.Sprint("many-", i))
		keys = append(keys, k)
		if i%3 != 0 { // every third key is absent
			if _, err := c.Put(ctx, k, []byte(fmt.Sprint("v", i)), Context{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	keys = append(keys, nil) // an empty key: refused locally, alone
	for _, n := range cl.nodes {
		n.mu.Lock()
		n.got = nil
		n.mu.Unlock()
	}
	res, err := c.GetMany(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(keys) {
		t.Fatalf("%d results for %d keys", len(res), len(keys))
	}
	for i := range 60 {
		r := res[i]
		switch {
		case r.Err != nil:
			t.Fatalf("key %d: %v", i, r.Err)
		case i%3 == 0 && r.Object.Found:
			t.Fatalf("absent key %d found", i)
		case i%3 != 0 && (!r.Object.Found || string(r.Object.Values[0]) != fmt.Sprint("v", i) || string(r.Object.Key) != string(keys[i])):
			t.Fatalf("key %d: %+v", i, r.Object)
		}
	}
	if !errors.Is(res[60].Err, ErrInvalid) {
		t.Fatalf("the empty key: %v, want ErrInvalid", res[60].Err)
	}
	total := 0
	for _, n := range cl.nodes {
		var gets []string
		for _, r := range n.requests() {
			if strings.HasPrefix(r, "get") {
				gets = append(gets, r)
			}
		}
		if len(gets) > 1 || len(gets) == 1 && !strings.HasPrefix(gets[0], "get many ") {
			t.Fatalf("node %s got %v: want at most one GetMany", n.name, gets)
		}
		if len(gets) == 1 {
			var k int
			fmt.Sscanf(gets[0], "get many %d", &k)
			total += k
		}
	}
	if total != 60 {
		t.Fatalf("the nodes were asked %d keys in all, want 60", total)
	}

	if _, err := c.GetMany(ctx, make([][]byte, MaxGetMany+1)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "1000") {
		t.Fatalf("%d keys: %v, want ErrInvalid naming the limit", MaxGetMany+1, err)
	}
	if _, err := c.GetMany(ctx, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no keys: %v", err)
	}

	// A key's own failure stays with it; a refusal of the request fails
	// its group.
	for _, n := range cl.nodes {
		n.setOverride(func(m proto.Message) proto.Message {
			b := m.(*messages.GetManyRequest)
			out := &messages.GetManyReply{}
			for range b.GetKeys() {
				out.Replies = append(out.Replies, &messages.GetReply{Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_QUORUM, Message: "read quorum: 1 of 2 replicas answered", Need: 2, Got: 1}})
			}
			return out
		})
	}
	res, err = c.GetMany(ctx, keys[:5])
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		var qe *QuorumError
		if !errors.As(r.Err, &qe) || qe.Need != 2 || qe.Op != OpGet {
			t.Fatalf("key %d: %v, want a read quorum error", i, r.Err)
		}
	}
}

// A node that answers a GetMany with UNAVAILABLE (a node still starting)
// has the group sent to the next node, as a Get would.
func TestGetManyFailsOverOnUnavailable(t *testing.T) {
	cl := startCluster(t, 3, 2)
	c := cl.newClient(t, cl.nodes[0].addr())
	ctx := bg(t)
	key := cl.keyWithPrimary(t, "n1")
	if _, err := c.Put(ctx, []byte(key), []byte("v"), Context{}); err != nil {
		t.Fatal(err)
	}
	cl.byName("n1").setOverride(func(m proto.Message) proto.Message {
		if _, ok := m.(*messages.GetManyRequest); ok {
			return &messages.GetManyReply{Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "node is starting"}}
		}
		return nil
	})
	res, err := c.GetMany(ctx, [][]byte{[]byte(key)})
	if err != nil || res[0].Err != nil || !res[0].Object.Found {
		t.Fatalf("GetMany past an unavailable node: %v %+v", err, res)
	}
}
