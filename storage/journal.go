package storage

import (
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	lstorage "github.com/syndtr/goleveldb/leveldb/storage"
)

// openDB opens goleveldb on dir over journalSync, which fsyncs each
// journal file before goleveldb closes it. goleveldb closes a journal when
// its memtable is full and a new journal takes the writes, without an
// fsync: writes made without Sync at the end of the old journal would
// then be durable only once the frozen memtable reaches a table, and a
// synced write to the new journal (a Flusher's record) would not cover
// them. With journalSync, by the time a later write returns, every
// journal before the current one is on disk. The storage must be closed
// after the database (leveldb.Open does not own it).
func openDB(dir string, o *opt.Options) (*leveldb.DB, lstorage.Storage, error) {
	stor, err := openFileStorage(dir, o.GetReadOnly())
	if err != nil {
		return nil, nil, err
	}
	db, err := leveldb.Open(journalSync{stor}, o)
	if err != nil {
		_ = stor.Close()
		return nil, nil, err
	}
	return db, stor, nil
}

// openFileStorage opens goleveldb's file storage (a variable so that a
// test can watch what goleveldb does with it).
var openFileStorage = func(dir string, readOnly bool) (lstorage.Storage, error) {
	return lstorage.OpenFile(dir, readOnly)
}

// journalSync is a goleveldb storage whose journal writers fsync on Close.
type journalSync struct{ lstorage.Storage }

// Create implements lstorage.Storage.
func (s journalSync) Create(fd lstorage.FileDesc) (lstorage.Writer, error) {
	w, err := s.Storage.Create(fd)
	if err != nil || fd.Type != lstorage.TypeJournal {
		return w, err
	}
	return syncOnClose{w}, nil
}

// syncOnClose fsyncs a journal before closing it.
type syncOnClose struct{ lstorage.Writer }

func (w syncOnClose) Close() error {
	if err := w.Writer.Sync(); err != nil {
		_ = w.Writer.Close()
		return err
	}
	return w.Writer.Close()
}
