package storage

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	lstorage "github.com/syndtr/goleveldb/leveldb/storage"
)

// recStorage logs the Sync and Close calls of the writers it creates.
type recStorage struct {
	lstorage.Storage
	mu  *sync.Mutex
	log *[]string
}

func (s recStorage) Create(fd lstorage.FileDesc) (lstorage.Writer, error) {
	w, err := s.Storage.Create(fd)
	return recWriter{Writer: w, name: fmt.Sprintf("%s-%d", fd.Type, fd.Num), s: s}, err
}

func (s recStorage) add(line string) {
	s.mu.Lock()
	*s.log = append(*s.log, line)
	s.mu.Unlock()
}

type recWriter struct {
	lstorage.Writer
	name string
	s    recStorage
}

func (w recWriter) Sync() error  { w.s.add("sync " + w.name); return w.Writer.Sync() }
func (w recWriter) Close() error { w.s.add("close " + w.name); return w.Writer.Close() }

// A journal is fsynced before goleveldb closes it (at a memtable
// rotation); other files are left as goleveldb writes them.
func TestJournalIsSyncedBeforeItIsClosed(t *testing.T) {
	var log []string
	s := journalSync{recStorage{Storage: lstorage.NewMemStorage(), mu: &sync.Mutex{}, log: &log}}
	for _, fd := range []lstorage.FileDesc{{Type: lstorage.TypeJournal, Num: 1}, {Type: lstorage.TypeTable, Num: 2}} {
		w, err := s.Create(fd)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"sync journal-1", "close journal-1", "close table-2"}; !slices.Equal(log, want) {
		t.Fatalf("calls %v, want %v", log, want)
	}
}

// The LevelDB engine opens goleveldb through journalSync: writes without
// Sync that fill several memtables see each rotated journal fsynced before
// it is closed.
func TestLevelDBSyncsEachJournalItRotates(t *testing.T) {
	var mu sync.Mutex
	var log []string
	real := openFileStorage
	openFileStorage = func(dir string, readOnly bool) (lstorage.Storage, error) {
		st, err := real(dir, readOnly)
		return recStorage{Storage: st, mu: &mu, log: &log}, err
	}
	defer func() { openFileStorage = real }()
	cfg := DefaultLevelDBConfig()
	cfg.WriteBufferBytes = 64 << 10
	l, err := OpenLevelDB(t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	value := bytes.Repeat([]byte("v"), 1<<10)
	for i := range 400 { // 400 KiB: several 64 KiB memtables
		b := NewBatch()
		b.Put(KeyspaceData, fmt.Appendf(nil, "k%04d", i), value)
		if err := l.Write(b, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// The writes were not synced, so a journal's only fsync is the one
	// before its close.
	closed := 0
	for i, line := range log {
		name, ok := strings.CutPrefix(line, "close journal-")
		if !ok {
			continue
		}
		closed++
		if !slices.Contains(log[:i], "sync journal-"+name) {
			t.Fatalf("journal %s closed without an fsync: %v", name, log[:i+1])
		}
	}
	if closed < 2 {
		t.Fatalf("%d journals closed: the writes rotated nothing (%v)", closed, log)
	}
}
