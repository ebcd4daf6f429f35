//go:build !race

package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/crdt"
	"github.com/dynamokv/dynamo/node"
	"github.com/dynamokv/dynamo/ring"
)

// The examples run against a cluster of three nodes started in this
// process on loopback ports chosen free (the first example to need it
// starts it; TestMain stops it). In a program, the seeds are the actor
// addresses of some of your nodes, such as "127.0.0.1:8946" for
// `dynamo dev`.

var (
	clusterOnce  sync.Once
	clusterNodes []*node.Node
	clusterDir   string
	clusterErr   error
)

// seeds starts the examples' cluster once and returns its nodes' actor
// addresses.
func seeds() []string {
	clusterOnce.Do(func() {
		clusterDir, clusterErr = os.MkdirTemp("", "dynamo-client-examples-")
		if clusterErr != nil {
			return
		}
		for i := range 3 {
			cfg := node.DefaultConfig(fmt.Sprintf("n%d", i+1))
			cfg.DataDir = filepath.Join(clusterDir, cfg.Name)
			cfg.GossipAddr, cfg.ActorAddr = "127.0.0.1:0", "127.0.0.1:0"
			cfg.Partitions = 16
			cfg.FastGossip, cfg.NoSync = true, true
			if i > 0 {
				cfg.Join = []string{clusterNodes[0].GossipAddr()}
			}
			nd, err := node.Start(cfg)
			if err != nil {
				clusterErr = err
				return
			}
			clusterNodes = append(clusterNodes, nd)
		}
		clusterErr = waitFormed()
	})
	if clusterErr != nil {
		log.Fatalf("starting the examples' cluster: %v", clusterErr)
	}
	var out []string
	for _, nd := range clusterNodes {
		out = append(out, nd.ActorAddr())
	}
	return out
}

// waitFormed waits until every node sees the three members up, so that
// the first writes find their replicas.
func waitFormed() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.New(ctx, client.Config{Seeds: []string{clusterNodes[0].ActorAddr()}})
	if err != nil {
		return err
	}
	defer c.Close()
	for _, nd := range clusterNodes {
		for {
			m, err := c.Status(ctx, nd.Name())
			up := 0
			if err == nil {
				for _, x := range m.Members {
					if x.State == ring.Up {
						up++
					}
				}
			}
			if up == len(clusterNodes) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s sees %d members up: %v", nd.Name(), up, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(clusterNodes) - 1; i >= 0; i-- {
		clusterNodes[i].Stop()
	}
	if clusterDir != "" {
		_ = os.RemoveAll(clusterDir)
	}
	os.Exit(code)
}

// Connect, write a key, read it back.
func Example() {
	ctx := context.Background()
	c, err := client.New(ctx, client.Config{Seeds: seeds()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// A first write has no context: nothing was read before it.
	if _, err := c.Put(ctx, []byte("greeting"), []byte("hello"), client.Context{}); err != nil {
		log.Fatal(err)
	}
	obj, err := c.Get(ctx, []byte("greeting"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("found=%v values=%q\n", obj.Found, obj.Values)
	// Output: found=true values=["hello"]
}

// Read before you write: the read's context tells the cluster which
// versions the write replaces. Two writes made from the same read are
// concurrent and both kept, as siblings; a write with the context of a
// read that saw both replaces them.
func ExampleClient_Get_siblings() {
	ctx := context.Background()
	c, err := client.New(ctx, client.Config{Seeds: seeds()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	key := []byte("profile:42")

	first, err := c.Get(ctx, key) // not found; its context is still valid
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range []string{"name=Ann", "name=Anne"} {
		// Both writes carry the same context: neither saw the other.
		if _, err := c.Put(ctx, key, []byte(v), first.Context); err != nil {
			log.Fatal(err)
		}
	}
	obj, err := c.Get(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	// Sibling order is not specified: sort to print.
	slices.SortFunc(obj.Values, bytes.Compare)
	fmt.Printf("%d siblings: %q\n", len(obj.Values), obj.Values)

	// Resolve: write one value with the context that covers both.
	if _, err := c.Put(ctx, key, []byte("name=Anne"), obj.Context); err != nil {
		log.Fatal(err)
	}
	obj, err = c.Get(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d value: %q\n", len(obj.Values), obj.Values)
	// Output:
	// 2 siblings: ["name=Ann" "name=Anne"]
	// 1 value: ["name=Anne"]
}

// Update is read, merge, write: the merge function gets every sibling
// (none when the key is absent) and its result is written with the read's
// context. With a convergent type (package crdt) concurrent updates from
// many clients never lose an add.
func ExampleClient_Update() {
	ctx := context.Background()
	c, err := client.New(ctx, client.Config{Seeds: seeds()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	key := []byte("cart:ann")

	for _, item := range []string{"banana", "milk"} {
		_, err := c.Update(ctx, key, crdt.UpdateORSet(func(cart *crdt.ORSet) {
			// "ann-phone": this writer's own id (see package crdt).
			if _, err := cart.Add("ann-phone", item); err != nil {
				log.Fatal(err)
			}
		}))
		if err != nil {
			log.Fatal(err)
		}
	}
	obj, err := c.Get(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	cart := crdt.ORSetFromSiblings(obj.Values)
	fmt.Println(cart.Elements())
	// Output: [banana milk]
}

// A delete takes the context of a read, like a write: it removes what the
// read saw.
func ExampleClient_Delete() {
	ctx := context.Background()
	c, err := client.New(ctx, client.Config{Seeds: seeds()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	key := []byte("session:7")

	if _, err := c.Put(ctx, key, []byte("token"), client.Context{}); err != nil {
		log.Fatal(err)
	}
	obj, err := c.Get(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Delete(ctx, key, obj.Context); err != nil {
		log.Fatal(err)
	}
	obj, err = c.Get(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("found:", obj.Found)
	// Output: found: false
}

// Quorums per request: W(3) waits for every replica; an R or W above the
// cluster's N is refused before anything is sent.
func ExampleW() {
	ctx := context.Background()
	c, err := client.New(ctx, client.Config{Seeds: seeds()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if _, err := c.Put(ctx, []byte("config"), []byte("v1"), client.Context{}, client.W(3)); err != nil {
		log.Fatal(err)
	}
	_, err = c.Get(ctx, []byte("config"), client.R(4))
	var inv *client.InvalidError
	fmt.Println(errors.Is(err, client.ErrInvalid), errors.As(err, &inv) && inv.Field == "r", err)
	// Output: true true r=4 exceeds n=3
}

// PutVia sends a write to a chosen node, which coordinates it: its counter
// goes into the new version. Put would pick the key's first replica.
func ExampleClient_PutVia() {
	ctx := context.Background()
	c, err := client.New(ctx, client.Config{Seeds: seeds()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if _, err := c.PutVia(ctx, "n2", []byte("visits"), []byte("1"), client.Context{}); err != nil {
		log.Fatal(err)
	}
	_, err = c.PutVia(ctx, "n9", []byte("visits"), []byte("1"), client.Context{})
	fmt.Println(errors.Is(err, client.ErrInvalid))
	// Output: true
}

// Members reads the membership and the cluster's settings.
func ExampleClient_Members() {
	ctx := context.Background()
	c, err := client.New(ctx, client.Config{Seeds: seeds()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	m, err := c.Members(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("N=%d R=%d W=%d, %d partitions\n", m.N, m.R, m.W, m.Partitions)
	for _, x := range m.Members {
		fmt.Println(x.Name, x.State)
	}
	// Output:
	// N=3 R=2 W=2, 16 partitions
	// n1 up
	// n2 up
	// n3 up
}
