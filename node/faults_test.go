package node

import (
	"errors"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/storage"
)

// The disk fault injector fails writes only, with EIO, each after its
// delay, until the fault's end (or a request ending it); a node without
// fault injection gives its actors the engine itself.
func TestDiskFaultsFailWritesWithEIOAfterADelay(t *testing.T) {
	n := &Node{cfg: Config{AllowFaultInjection: true}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), disk: &diskFaults{}}
	e := storage.NewFaulty(storage.NewMemory(), n.disk)
	put := func() error {
		b := storage.NewBatch()
		b.Put(storage.KeyspaceData, []byte("k"), []byte("v"))
		return e.Write(b, storage.WriteOptions{})
	}
	if err := put(); err != nil {
		t.Fatalf("a write before any fault: %v", err)
	}
	if err := n.FailDiskWrites(2*time.Second, 30*time.Millisecond, 40*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := put()
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("a write under the fault: %v, want EIO", err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("the failing write returned after %v, want at least 30 ms", d)
	}
	if _, err := e.Get(storage.KeyspaceData, []byte("k")); err != nil {
		t.Fatalf("reads are not faulted: %v", err)
	}
	if err := n.FailDiskWrites(0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := put(); err != nil {
		t.Fatalf("a write after the fault ended: %v", err)
	}
	// A fault ends by itself.
	if err := n.FailDiskWrites(50*time.Millisecond, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := put(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("under a short fault: %v", err)
	}
	time.Sleep(60 * time.Millisecond)
	if err := put(); err != nil {
		t.Fatalf("after a short fault expired: %v", err)
	}
	if n.disk.failed.Load() != 2 {
		t.Fatalf("%d writes failed, want 2", n.disk.failed.Load())
	}
	for _, bad := range [][3]time.Duration{{-time.Second, 0, 0}, {time.Hour, 0, 0}, {time.Second, 50 * time.Millisecond, 10 * time.Millisecond}, {time.Second, 0, time.Minute}} {
		if err := n.FailDiskWrites(bad[0], bad[1], bad[2]); err == nil {
			t.Fatalf("FailDiskWrites%v accepted", bad)
		}
	}

	off := &Node{cfg: Config{}, log: n.log}
	if err := off.FailDiskWrites(time.Second, 0, 0); err == nil {
		t.Fatal("a node without fault injection accepted a disk fault")
	}
	if _, ok := off.actorEngine().(*storage.Faulty); ok {
		t.Fatal("a node without fault injection wraps its engine")
	}
	if _, ok := n.actorEngine().(*storage.Faulty); !ok {
		t.Fatal("a node with fault injection does not wrap its engine")
	}
}
