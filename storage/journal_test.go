package storage

import (
	"slices"
	"testing"

	lstorage "github.com/syndtr/goleveldb/leveldb/storage"
)

// recStorage logs the Sync and Close calls of the writers it creates.
type recStorage struct {
	lstorage.Storage
	log *[]string
}

func (s recStorage) Create(fd lstorage.FileDesc) (lstorage.Writer, error) {
	w, err := s.Storage.Create(fd)
	return recWriter{Writer: w, name: fd.Type.String(), log: s.log}, err
}

type recWriter struct {
	lstorage.Writer
	name string
	log  *[]string
}

func (w recWriter) Sync() error  { *w.log = append(*w.log, "sync "+w.name); return w.Writer.Sync() }
func (w recWriter) Close() error { *w.log = append(*w.log, "close "+w.name); return w.Writer.Close() }

// A journal is fsynced before goleveldb closes it (at a memtable
// rotation); other files are left as goleveldb writes them.
func TestJournalIsSyncedBeforeItIsClosed(t *testing.T) {
	var log []string
	s := journalSync{recStorage{Storage: lstorage.NewMemStorage(), log: &log}}
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
	if want := []string{"sync journal", "close journal", "close table"}; !slices.Equal(log, want) {
		t.Fatalf("calls %v, want %v", log, want)
	}
}
