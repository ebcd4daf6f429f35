package actors

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
)

func (c *testCluster) putIfAbsent(via int, key, value string) *messages.PutReply {
	c.nextID++
	return c.send(via, messages.Wrap(c.nextID, &messages.PutRequest{Key: []byte(key), Value: []byte(value), IfAbsent: true})).GetPutReply()
}

// An if-absent put writes a key that holds no value, is refused with
// EXISTS (writing nothing) while it holds one, and writes again once the
// key was deleted; through any node (a node that is not the key's
// coordinator forwards the request, flag included).
func TestClusterIfAbsentPut(t *testing.T) {
	c := newTestCluster(t, 3)
	if p := c.putIfAbsent(0, "user:ada", "v1"); p.GetError() != nil {
		t.Fatalf("if-absent put of an absent key: %v", p.GetError())
	}
	for via := range 3 {
		p := c.putIfAbsent(via, "user:ada", fmt.Sprint("v2 via ", via))
		if p.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_EXISTS {
			t.Fatalf("if-absent put via %d of a key holding a value: %v, want EXISTS", via, p)
		}
	}
	g := c.get(2, "user:ada", 3)
	if got := values(g); len(got) != 1 || got[0] != "v1" {
		t.Fatalf("after refused if-absent puts the key holds %q, want [v1]", got)
	}
	if d := c.del(1, "user:ada", g.GetContext()); d.GetError() != nil {
		t.Fatal(d.GetError())
	}
	if p := c.putIfAbsent(2, "user:ada", "v3"); p.GetError() != nil {
		t.Fatalf("if-absent put after a delete: %v", p.GetError())
	}
	if got := values(c.get(0, "user:ada", 3)); len(got) != 1 || got[0] != "v3" {
		t.Fatalf("after the delete and an if-absent put: %q, want [v3]", got)
	}
}

// Concurrent if-absent puts of one key, sent through every node (each a
// primary of the key), leave exactly one winner: the other primaries
// forward them to the key's first up primary, whose vnode checks and
// writes in one step; the others are refused and write nothing.
func TestClusterConcurrentIfAbsentPutsHaveOneWinner(t *testing.T) {
	c := newTestCluster(t, 3)
	for round := range 20 {
		key := fmt.Sprint("lock-", round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, refused := []string{}, 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mu.Lock()
				c.nextID++
				id := c.nextID
				mu.Unlock()
				res, err := c.client.Root().RequestFuture(routerPID(c.nodes[i%3].sys.Address()),
					messages.Wrap(id, &messages.PutRequest{Key: []byte(key), Value: []byte(fmt.Sprint("w", i)), IfAbsent: true}), 5*time.Second).Result()
				if err != nil {
					t.Error(err)
					return
				}
				p := res.(*messages.Envelope).GetPutReply()
				mu.Lock()
				defer mu.Unlock()
				switch {
				case p.GetError() == nil:
					won = append(won, fmt.Sprint("w", i))
				case p.GetError().GetCode() == messages.ErrorCode_ERROR_CODE_EXISTS:
					refused++
				default:
					t.Errorf("put %d: %v", i, p.GetError())
				}
			}()
		}
		wg.Wait()
		if len(won) != 1 || refused != 7 {
			t.Fatalf("round %d: %d won (%v), %d refused; want 1 and 7", round, len(won), won, refused)
		}
		if got := values(c.get(1, key, 3)); len(got) != 1 || got[0] != won[0] {
			t.Fatalf("round %d: the key holds %q, want the winner's %q", round, got, won[0])
		}
	}
}

// What an if-absent put does not see: a value the other replicas hold
// but its coordinator, the key's first primary, does not yet (a write it
// missed while down, before hints or anti-entropy brought it). The put succeeds, and the two
// versions are kept as siblings: nothing acknowledged is lost, but there
// are two creators. docs/client.md states this limit.
func TestClusterIfAbsentMissesAValueItsCoordinatorLacks(t *testing.T) {
	c := newTestCluster(t, 3)
	const key = "user:grace"
	var rms []ring.Member
	for _, m := range c.members.Members() {
		rms = append(rms, ring.Member{Name: m.Name, Weight: 1, State: ring.Up})
	}
	r, err := ring.New(ring.Config{Partitions: testQ, N: 3}, rms)
	if err != nil {
		t.Fatal(err)
	}
	first := r.Owners(r.Partition([]byte(key)))[0]
	missed, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("written while the first primary was away"), Timestamp: 1}, "away@1", 1)
	for i, nd := range c.nodes {
		if nd.name != first {
			c.mergeInto(i, key, missed, messages.ReplicaPutKind_REPLICA_PUT_KIND_WRITE)
		}
	}
	for via := range 3 { // whichever node receives it, the first primary coordinates
		p := c.putIfAbsent(via, key, fmt.Sprint("created via ", via))
		if via == 0 && p.GetError() != nil {
			t.Fatalf("the coordinator lacks the value, so the if-absent put succeeds: %v", p.GetError())
		}
		if via > 0 && p.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_EXISTS {
			t.Fatalf("once the coordinator holds a value the if-absent put via %d is refused: %v", via, p)
		}
	}
	want := []string{"created via 0", "written while the first primary was away"}
	if got := values(c.get(1, key, 3)); !slices.Equal(got, want) {
		t.Fatalf("the key holds %q, want both versions as siblings %q", got, want)
	}
}
