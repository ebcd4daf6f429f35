package node

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/messages"
)

// mountTmpfs mounts a tmpfs of size (e.g. "6m") on a new directory,
// unmounted at cleanup. Tests that call it need root.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs and fill it (CI runs as root); the injected-error tests in vnode and actors cover the logic")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func resizeTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s: %v: %s", dir, err, out)
	}
}

// A full disk: writes fail with a storage error that says so (HTTP 507),
// the node keeps serving reads of everything it stored, and once space
// returns writes work again without a restart; after a restart every
// acknowledged write is there, intact.
func TestFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "8m")
	h := &harness{t: t, client: startClient(t), tweak: func(c *Config) {
		c.N, c.R, c.W, c.HTTPAddr, c.NoSync = 1, 1, 1, "127.0.0.1:0", false
	}}
	h.dirs = append(h.dirs, mnt+"/n1")
	h.nodes = append(h.nodes, nil)
	h.start(0)
	nd := h.nodes[0]
	// Incompressible values: leveldb's compression must not make room.
	value := func(i int) string {
		b := make([]byte, 32<<10)
		r := rand.New(rand.NewPCG(uint64(i), 7))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		return string(b)
	}
	stored := 0
	var full *messages.Error
	for i := range 2000 {
		r := h.put(nd, fmt.Sprintf("k%d", i), value(i), nil, 1)
		if r.GetError() != nil {
			full = r.GetError()
			break
		}
		stored++
	}
	if full == nil {
		t.Fatalf("%d writes of 32 KiB fit on an 8 MiB disk", stored)
	}
	if full.GetCode() != messages.ErrorCode_ERROR_CODE_STORAGE && full.GetCode() != messages.ErrorCode_ERROR_CODE_QUORUM {
		t.Fatalf("write on a full disk: %v", full)
	}
	if !strings.Contains(full.GetMessage(), "no space") && !strings.Contains(full.GetMessage(), "full") {
		t.Fatalf("the error does not say the disk is full: %v", full)
	}
	t.Logf("disk full after %d writes: %v", stored, full)
	// Reads keep working, and every acknowledged write reads back intact.
	for i := range stored {
		g := h.get(nd, fmt.Sprintf("k%d", i), 1)
		if g.GetError() != nil || len(g.GetValues()) != 1 || string(g.GetValues()[0]) != value(i) {
			t.Fatalf("read of k%d on a full disk: %v", i, g)
		}
	}
	// Still full: still refused, with 507 over HTTP.
	resp, b := httpDo(t, "PUT", httpBase(nd)+"/kv/more", bytes.Repeat([]byte("y"), 64<<10))
	if resp.StatusCode != 507 && resp.StatusCode != 503 {
		t.Fatalf("HTTP write on a full disk: %d %s", resp.StatusCode, b)
	}
	// Space returns: writes work again, without a restart.
	resizeTmpfs(t, mnt, "64m")
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := h.put(nd, "after", "space returned", nil, 1)
		if r.GetError() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still fail 10 s after space returned: %v", r.GetError())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A restart finds everything acknowledged.
	h.stop(0)
	h.start(0)
	nd = h.nodes[0]
	// The restarted node serves once its vnodes run (until then, and
	// while the test client's connection to its address is renewed, a
	// read may fail or end in a dead letter).
	deadline = time.Now().Add(10 * time.Second)
	for {
		h.id++
		env, err := h.trySend(nd, messages.Wrap(h.id, &messages.GetRequest{Key: []byte("k0"), R: 1}))
		if err == nil && env.GetGetReply().GetError() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted node does not serve reads: %v %v", err, env.GetGetReply().GetError())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := range stored {
		g := h.get(nd, fmt.Sprintf("k%d", i), 1)
		if g.GetError() != nil || len(g.GetValues()) != 1 || string(g.GetValues()[0]) != value(i) {
			t.Fatalf("after a restart, k%d reads %v", i, g)
		}
	}
	if g := h.get(nd, "after", 1); len(g.GetValues()) != 1 {
		t.Fatalf("after a restart, the write made when space returned reads %v", g)
	}
}
