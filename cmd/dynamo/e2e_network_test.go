package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/internal/netns"
	"github.com/dynamokv/dynamo/ring"
)

// Two agents, each in its own network namespace (as in two containers),
// bind every interface (--bind-addr 0.0.0.0) and advertise their
// namespace's address (--advertise-addr). The second names its seed by a
// DNS name that resolves to itself when it starts, and to the first agent
// once that one runs: it joins on a retry, so reaching only itself did not
// count and the name was resolved again.
// A client on the host reaches both through the advertised addresses only.
// Needs root (network namespaces); CI runs it.
func TestE2EBindAndAdvertiseDifferWithADNSSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with real processes: skipped in -short mode")
	}
	if err := netns.Available(); err != nil {
		t.Skipf("needs network namespaces (root and the ip command): %v", err)
	}
	x, err := netns.Setup(2, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Teardown)
	const seedName = "seed.dynamo.test"
	// At first the seed's name resolves to the joining agent itself, as a
	// headless Service's name does for the first pod: that must not count
	// as reaching a seed.
	for i := range 2 {
		if err := x.SetHosts(i, fmt.Sprintf("127.0.0.1 localhost\n%s %s\n", x.IP(1), seedName)); err != nil {
			t.Fatal(err)
		}
	}
	bin := binary(t)
	dir := t.TempDir()
	outs := make([]*syncBuf, 2)
	start := func(i int, join ...string) {
		args := []string{"agent", "--name", fmt.Sprintf("ns%d", i+1), "--data-dir", filepath.Join(dir, fmt.Sprint(i)),
			"--bind-addr", "0.0.0.0", "--advertise-addr", x.IP(i), "--gossip-addr", "127.0.0.1:7946", "--actor-addr", "127.0.0.1:8946",
			"--http-addr", x.IP(i) + ":8080", "--partitions", "16", "--fast-gossip", "--log-level", "debug"}
		if len(join) > 0 {
			args = append(args, "--join", strings.Join(join, ","))
		}
		cmd := x.Command(i, bin, args...)
		outs[i] = &syncBuf{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-done
			if t.Failed() {
				t.Logf("output of ns%d:\n%s", i+1, outs[i].String())
			}
		})
	}
	start(1, seedName+":7946")  // the seed's name resolves to nothing yet
	time.Sleep(3 * time.Second) // a retry or two fail
	start(0)
	if err := x.SetHosts(1, fmt.Sprintf("127.0.0.1 localhost\n%s %s\n", x.IP(0), seedName)); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var c *client.Client
	for c == nil {
		c, err = client.New(ctx, client.Config{Seeds: []string{x.IP(0) + ":8946"}, ListenAddr: x.Host() + ":0"})
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("no client: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	defer c.Close()
	want := []string{x.IP(0) + ":8946", x.IP(1) + ":8946"}
	for {
		m, err := c.Members(ctx)
		var addrs []string
		if err == nil {
			for _, mem := range m.Members {
				if mem.State == ring.Up {
					addrs = append(addrs, mem.Addr)
				}
			}
			slices.Sort(addrs)
		}
		if slices.Equal(addrs, want) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("members %v (%v), want both up at their advertised addresses %v", addrs, err, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(outs[1].String(), seedName) {
		t.Fatalf("ns2's log never names its seed %s", seedName)
	}
	for i := range 20 {
		key := []byte(fmt.Sprintf("k%d", i))
		if _, err := c.Put(ctx, key, key, client.Context{}, client.W(2)); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		obj, err := c.Get(ctx, key, client.R(2))
		if err != nil || !obj.Found {
			t.Fatalf("get %s: %+v %v", key, obj, err)
		}
	}
	resp, err := http.Get("http://" + x.IP(1) + ":8080/kv/k3?r=2")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "k3" {
		t.Fatalf("HTTP GET through ns2: %d %q", resp.StatusCode, body)
	}
}
