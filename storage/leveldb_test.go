package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	lstorage "github.com/syndtr/goleveldb/leveldb/storage"
)

func TestLevelDBPersistence(t *testing.T) {
	dir := t.TempDir()
	l := openTestLevelDB(t, dir)
	b := NewBatch()
	for i := range 1000 {
		b.Put(KeyspaceData, ObjectKey(uint32(i%7), uint16(i), fmt.Appendf(nil, "k%d", i)), fmt.Appendf(nil, "v%d", i))
	}
	if err := l.Write(b, WriteOptions{Sync: true}); err != nil {
		t.Fatal(err)
	}
	if err := Put(l, KeyspaceHints, []byte("hint"), []byte("unsynced"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Put(l, KeyspaceMeta, []byte("meta"), []byte("synced"), WriteOptions{Sync: true}); err != nil {
		t.Fatal(err)
	}
	if err := Delete(l, KeyspaceData, ObjectKey(0, 0, []byte("k0")), WriteOptions{Sync: true}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = openTestLevelDB(t, dir)
	defer l.Close()
	wantGet(t, l, KeyspaceHints, "hint", "unsynced")
	wantGet(t, l, KeyspaceMeta, "meta", "synced")
	wantNotFound(t, l, KeyspaceData, string(ObjectKey(0, 0, []byte("k0"))))
	wantGet(t, l, KeyspaceData, string(ObjectKey(999%7, 999, []byte("k999"))), "v999")
	got := mustScan(t, l, KeyspaceData, PartitionRange(1))
	if len(got) != 143 {
		t.Fatalf("partition 1 has %d objects after reopen, want 143", len(got))
	}
	for _, e := range got {
		p, seg, k, err := ParseObjectKey([]byte(e.key))
		if err != nil || p != 1 || string(k) != fmt.Sprintf("k%d", seg) || e.value != fmt.Sprintf("v%d", seg) {
			t.Fatalf("entry %q = %q: partition %d segment %d key %q err %v", e.key, e.value, p, seg, k, err)
		}
	}
}

func TestLevelDBLocked(t *testing.T) {
	dir := t.TempDir()
	l := openTestLevelDB(t, dir)
	second, err := OpenLevelDB(dir, DefaultLevelDBConfig())
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second OpenLevelDB = %v, want ErrLocked naming %s", err, dir)
	}
	mustPut(t, l, KeyspaceData, "still", "works")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTestLevelDB(t, dir)
	defer l.Close()
	wantGet(t, l, KeyspaceData, "still", "works")
}

func TestLevelDBCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "data")
	l := openTestLevelDB(t, dir)
	defer l.Close()
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("data directory not created: %v", err)
	}
}

func TestLevelDBOpenErrors(t *testing.T) {
	if _, err := OpenLevelDB("", DefaultLevelDBConfig()); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty dir: %v, want ErrInvalid", err)
	}

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := OpenLevelDB(file, DefaultLevelDBConfig()); err == nil || errors.Is(err, ErrLocked) || !strings.HasPrefix(err.Error(), "storage: ") {
		if l != nil {
			l.Close()
		}
		t.Errorf("OpenLevelDB of a regular file = %v, want a storage error", err)
	}

	dir := t.TempDir()
	l := openTestLevelDB(t, dir)
	mustPut(t, l, KeyspaceData, "k", "v")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "CURRENT"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := OpenLevelDB(dir, DefaultLevelDBConfig()); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), dir) {
		if l != nil {
			l.Close()
		}
		t.Errorf("OpenLevelDB with a corrupt CURRENT file = %v, want ErrCorrupt naming the directory", err)
	}
}

// BlockCacheBytes 0 must turn goleveldb's block cache off, not give it a
// capacity of 0: only without a cache does a table keep its index and
// filter blocks (with an empty cache every lookup reads and decompresses
// its table's index block again: half the gets per second at 10,000,000
// keys).
func TestLevelDBBlockCacheOffKeepsIndexBlocks(t *testing.T) {
	cfg := DefaultLevelDBConfig()
	cfg.BlockCacheBytes = 0
	if o := cfg.options(); !o.GetDisableBlockCache() {
		t.Fatalf("BlockCacheBytes 0: goleveldb options %+v keep a block cache", o)
	}
	cfg.BlockCacheBytes = 8 << 20
	if o := cfg.options(); o.GetDisableBlockCache() || o.GetBlockCacheCapacity() != 8<<20 {
		t.Fatalf("BlockCacheBytes 8 MiB: goleveldb options %+v", o)
	}
}

func TestLevelDBConfig(t *testing.T) {
	if err := DefaultLevelDBConfig().validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for _, tc := range []struct {
		field  string
		mutate func(*LevelDBConfig)
	}{
		{"BlockCacheBytes", func(c *LevelDBConfig) { c.BlockCacheBytes = -1 }},
		{"WriteBufferBytes", func(c *LevelDBConfig) { c.WriteBufferBytes = 4 }},
		{"OpenFilesCacheCapacity", func(c *LevelDBConfig) { c.OpenFilesCacheCapacity = 0 }},
		{"BloomFilterBitsPerKey", func(c *LevelDBConfig) { c.BloomFilterBitsPerKey = -1 }},
		{"BloomFilterBitsPerKey", func(c *LevelDBConfig) { c.BloomFilterBitsPerKey = 65 }},
	} {
		cfg := DefaultLevelDBConfig()
		tc.mutate(&cfg)
		l, err := OpenLevelDB(t.TempDir(), cfg)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "LevelDBConfig."+tc.field) {
			if l != nil {
				l.Close()
			}
			t.Errorf("OpenLevelDB with bad %s = %v, want ErrInvalid naming the field", tc.field, err)
		}
	}

	// The smallest valid configuration works, caches and filter disabled.
	cfg := LevelDBConfig{WriteBufferBytes: 64 << 10, OpenFilesCacheCapacity: 1}
	l, err := OpenLevelDB(t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 2000 { // several memtable flushes
		mustPut(t, l, KeyspaceData, fmt.Sprintf("k%04d", i), strings.Repeat("v", 100))
	}
	wantGet(t, l, KeyspaceData, "k0007", strings.Repeat("v", 100))
	if got := mustScan(t, l, KeyspaceData, Range{}); len(got) != 2000 {
		t.Fatalf("%d entries, want 2000", len(got))
	}
}

func TestWrapErr(t *testing.T) {
	enospc := &os.PathError{Op: "write", Path: "/data/000001.log", Err: syscall.ENOSPC}
	err := wrapErr("write", enospc)
	if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "000001.log") {
		t.Errorf("wrapErr(ENOSPC) = %v, want ErrNoSpace wrapping the PathError", err)
	}
	if err := wrapErr("get", leveldb.ErrClosed); err != ErrClosed {
		t.Errorf("wrapErr(leveldb.ErrClosed) = %v, want ErrClosed", err)
	}
	if err := wrapErr("get", lerrors.NewErrCorrupted(lstorage.FileDesc{}, errors.New("bad block"))); !errors.Is(err, ErrCorrupt) {
		t.Errorf("wrapErr(corrupted) = %v, want ErrCorrupt", err)
	}
	other := errors.New("disk on fire")
	if err := wrapErr("get", other); !errors.Is(err, other) || err.Error() != "storage: get: disk on fire" {
		t.Errorf("wrapErr(other) = %v", err)
	}
}

// Deleted records stay on disk until a compaction reaches their tables:
// after a mass delete and no more writes, Compact of the range brings the
// directory back to about its empty size; other ranges are kept.
func TestLevelDBCompactReclaimsDeletedRecords(t *testing.T) {
	dir := t.TempDir()
	l := openTestLevelDB(t, dir)
	empty := dirBytes(t, dir)
	value := make([]byte, 1000)
	for round := range 20 {
		b := NewBatch()
		for i := range 500 {
			b.Put(KeyspaceData, ObjectKey(uint32(i%2), uint16(i), fmt.Appendf(nil, "k%d-%d", round, i)), value)
		}
		if err := l.Write(b, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Delete partition 0's records.
	it := l.NewIterator(KeyspaceData, PartitionRange(0))
	b := NewBatch()
	for it.Next() {
		b.Delete(KeyspaceData, it.Key())
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(b, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	full := dirBytes(t, dir)
	if err := l.Compact(KeyspaceData, PartitionRange(0)); err != nil {
		t.Fatal(err)
	}
	after := dirBytes(t, dir)
	t.Logf("empty %d bytes, 10,000 records of 1 KB then half deleted %d, compacted %d", empty, full, after)
	// Partition 1's 5 MB stay; partition 0's are gone (values compress
	// well: zeros).
	if after > full*2/3 {
		t.Fatalf("compaction did not reclaim the deleted half: %d -> %d bytes", full, after)
	}
	left := 0
	it = l.NewIterator(KeyspaceData, Range{})
	for it.Next() {
		left++
	}
	it.Close()
	if left != 5000 {
		t.Fatalf("%d records after the compaction, want partition 1's 5000", left)
	}
	if err := Compact(NewMemory(), KeyspaceData, Range{}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Compact(KeyspaceData, Range{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("compact after close: %v", err)
	}
}

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !info.IsDir() {
			n += info.Size()
		}
	}
	return n
}
