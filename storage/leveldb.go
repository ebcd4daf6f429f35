package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/iterator"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// LevelDBConfig tunes the LevelDB engine. Start from DefaultLevelDBConfig.
type LevelDBConfig struct {
	// BlockCacheBytes is the size in bytes of goleveldb's shared LRU cache
	// of uncompressed table blocks (index, filter and data blocks alike).
	// 0 turns it off: each open table then keeps its own index and bloom
	// filter blocks in memory for as long as it is open (about 1.7 bytes
	// per key: 1.25 of filter at 10 bits per key, the rest index), and a
	// lookup reads one data block through the OS page cache. With a
	// shared cache smaller than the tables' index blocks, random reads
	// evict them and every lookup reads and decompresses an index block
	// again: at 10,000,000 keys (630 MiB per node) the 8 MiB cache halved
	// the gets per second against 0 (bench/RESULTS.md). Default 0.
	BlockCacheBytes int
	// WriteBufferBytes is the size in bytes of the memtable (and its
	// journal) before it is flushed to a table; up to two exist at once.
	// At least 64 KiB. Default 4 MiB.
	WriteBufferBytes int
	// OpenFilesCacheCapacity is the number of table files kept open.
	// With BlockCacheBytes 0 it also bounds the index and filter blocks
	// held: 500 tables of 2 MiB cover about 1 GiB of data; a table
	// reopened reads them again. At least 1. Default 500.
	OpenFilesCacheCapacity int
	// BloomFilterBitsPerKey is the number of bloom filter bits per key,
	// which spares disk reads for absent keys; 0 disables the filter.
	// At most 64. Default 10 (about 1% false positives).
	BloomFilterBitsPerKey int
}

// DefaultLevelDBConfig returns the default configuration.
func DefaultLevelDBConfig() LevelDBConfig {
	return LevelDBConfig{
		BlockCacheBytes:        0,
		WriteBufferBytes:       4 << 20,
		OpenFilesCacheCapacity: 500,
		BloomFilterBitsPerKey:  10,
	}
}

func (c LevelDBConfig) validate() error {
	switch {
	case c.BlockCacheBytes < 0:
		return fmt.Errorf("%w: LevelDBConfig.BlockCacheBytes is %d, must be >= 0", ErrInvalid, c.BlockCacheBytes)
	case c.WriteBufferBytes < 64<<10:
		return fmt.Errorf("%w: LevelDBConfig.WriteBufferBytes is %d, must be >= 65536", ErrInvalid, c.WriteBufferBytes)
	case c.OpenFilesCacheCapacity < 1:
		return fmt.Errorf("%w: LevelDBConfig.OpenFilesCacheCapacity is %d, must be >= 1", ErrInvalid, c.OpenFilesCacheCapacity)
	case c.BloomFilterBitsPerKey < 0 || c.BloomFilterBitsPerKey > 64:
		return fmt.Errorf("%w: LevelDBConfig.BloomFilterBitsPerKey is %d, must be in 0..64", ErrInvalid, c.BloomFilterBitsPerKey)
	}
	return nil
}

func (c LevelDBConfig) options() *opt.Options {
	o := &opt.Options{
		BlockCacheCapacity:     c.BlockCacheBytes,
		WriteBuffer:            c.WriteBufferBytes,
		OpenFilesCacheCapacity: c.OpenFilesCacheCapacity,
	}
	if c.BlockCacheBytes == 0 {
		o.DisableBlockCache = true
	}
	if c.BloomFilterBitsPerKey > 0 {
		o.Filter = filter.NewBloomFilter(c.BloomFilterBitsPerKey)
	}
	return o
}

// LevelDB is the durable Engine, one goleveldb database per data
// directory. Each keyspace is a one-byte key prefix.
type LevelDB struct {
	dir string
	// priorJournal: PriorJournal.
	priorJournal uint64
	opts         *opt.Options
	db           *leveldb.DB                // nil only while a reopen found nothing to open
	stor         interface{ Close() error } // db's file storage (openDB), closed after it

	// mu is held shared by every operation, iterator steps included, and
	// exclusively by Close, so that nothing touches db once it is closed.
	mu     sync.RWMutex
	closed bool

	itersMu sync.Mutex
	iters   map[*levelIterator]struct{} // open goleveldb iterators

	// broken is the write error after which goleveldb refuses every write
	// (its journal writer keeps its first error: a disk that was full stays
	// "full" for it after space returns). Writes then reopen the database,
	// at most once per reopenInterval, until one succeeds; meanwhile it is
	// open read-only when it cannot be opened for writing, so reads go on.
	// Guarded by mu (written under the exclusive lock or brokenMu).
	brokenMu   sync.Mutex
	broken     error
	lastReopen time.Time

	// compactMu runs one compaction at a time: they rewrite tables, and
	// two at once only compete for the disk.
	compactMu sync.Mutex
}

// reopenInterval bounds how often writes to a broken database reopen it.
const reopenInterval = time.Second

var (
	_ Engine    = (*LevelDB)(nil)
	_ Compacter = (*LevelDB)(nil)
)

// OpenLevelDB opens the database in dir, creating dir if it is missing.
// If another LevelDB has dir open, in this process or another, it fails
// with an error wrapping ErrLocked.
func OpenLevelDB(dir string, cfg LevelDBConfig) (*LevelDB, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty data directory", ErrInvalid)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, wrapErr("create data directory", err)
	}
	prior, err := newestJournal(dir)
	if err != nil {
		return nil, err
	}
	db, stor, err := openDB(dir, cfg.options())
	if err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EAGAIN) {
			return nil, fmt.Errorf("%w: %s: %w", ErrLocked, dir, err)
		}
		return nil, wrapErr("open "+dir, err)
	}
	return &LevelDB{dir: dir, opts: cfg.options(), db: db, stor: stor, iters: map[*levelIterator]struct{}{}, priorJournal: prior}, nil
}

// Journaled is an engine whose write history across opens can be told
// apart: a marker that records Journal() as the last thing a process
// writes before it closes the engine equals PriorJournal() at the next
// open only if no process opened the engine in between.
type Journaled interface {
	// PriorJournal identifies the engine's last journal before this open.
	PriorJournal() uint64
	// Journal identifies its journal now.
	Journal() (uint64, error)
}

var _ Journaled = (*LevelDB)(nil)

// PriorJournal implements Journaled: the number of the newest goleveldb
// journal file (NNNNNN.log) before this open, 0 for a new directory.
// goleveldb starts a journal at every open, and when it rotates its
// memtable, numbered from a counter that only grows.
func (l *LevelDB) PriorJournal() uint64 { return l.priorJournal }

// Journal implements Journaled: the number of the newest journal file now.
func (l *LevelDB) Journal() (uint64, error) { return newestJournal(l.dir) }

// newestJournal is the highest NNNNNN.log number in dir (0: none).
func newestJournal(dir string) (uint64, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return 0, wrapErr("list journals", err)
	}
	var newest uint64
	for _, name := range names {
		n, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), ".log"), 10, 64)
		if err == nil && n > newest {
			newest = n
		}
	}
	return newest, nil
}

// wrapErr wraps an error from goleveldb or the file system, mapping the
// conditions callers act on to sentinel errors.
func wrapErr(op string, err error) error {
	switch {
	case errors.Is(err, leveldb.ErrClosed):
		return ErrClosed
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w: %s: %w", ErrNoSpace, op, err)
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM), errors.Is(err, leveldb.ErrReadOnly):
		return fmt.Errorf("%w: %s: %w", ErrReadOnly, op, err)
	case lerrors.IsCorrupted(err):
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, op, err)
	}
	return fmt.Errorf("storage: %s: %w", op, err)
}

func prefixed(ks Keyspace, key []byte) []byte {
	k := make([]byte, 1+len(key))
	k[0] = byte(ks)
	copy(k[1:], key)
	return k
}

// Get implements Engine.
func (l *LevelDB) Get(ks Keyspace, key []byte) ([]byte, error) {
	l.reopenIfGone()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	if err := validateKey(ks, key); err != nil {
		return nil, err
	}
	if l.db == nil {
		return nil, l.brokenErr()
	}
	v, err := l.db.Get(prefixed(ks, key), nil) // v is goleveldb's copy
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, wrapErr("get", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// Write implements Engine using one goleveldb batch, which is atomic.
// After a write error that leaves goleveldb refusing writes (a full disk),
// writes reopen the database first (see LevelDB.broken), so they work
// again once the cause is gone, without a restart.
func (l *LevelDB) Write(b *Batch, opts WriteOptions) error {
	if err := checkBatch(b); err != nil {
		return err
	}
	if l.brokenErr() != nil {
		l.reopen()
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	if berr := l.brokenErr(); berr != nil {
		return fmt.Errorf("%w (writes are refused since then; the database is reopened every %v until they work)", berr, reopenInterval)
	}
	lb := leveldb.MakeBatch(b.Len())
	var k []byte
	for i := range b.Len() {
		ks, del, key, value := b.record(i)
		k = append(append(k[:0], byte(ks)), key...) // lb copies k
		if del {
			lb.Delete(k)
		} else {
			lb.Put(k, value)
		}
	}
	if err := l.db.Write(lb, &opt.WriteOptions{Sync: opts.Sync}); err != nil {
		werr := wrapErr("write", err)
		if !errors.Is(werr, ErrClosed) {
			l.brokenMu.Lock()
			if l.broken == nil {
				l.broken = werr
			}
			l.brokenMu.Unlock()
		}
		return werr
	}
	return nil
}

// reopenIfGone retries a reopen when the last one left no database open
// (neither for writing nor read-only), so reads come back by themselves.
func (l *LevelDB) reopenIfGone() {
	l.mu.RLock()
	gone := l.db == nil && !l.closed
	l.mu.RUnlock()
	if gone {
		l.reopen()
	}
}

func (l *LevelDB) brokenErr() error {
	l.brokenMu.Lock()
	defer l.brokenMu.Unlock()
	return l.broken
}

// reopen closes the database and opens it again, for writing if it can,
// else read-only (reads go on while the disk is full). Open iterators are
// released: they fail with ErrClosed, and their users retry. At most once
// per reopenInterval.
func (l *LevelDB) reopen() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.brokenMu.Lock()
	due := l.broken != nil && time.Since(l.lastReopen) >= reopenInterval
	if due {
		l.lastReopen = time.Now()
	}
	l.brokenMu.Unlock()
	if !due || l.closed {
		return
	}
	// Opening for writing flushes the journal into a table and writes a
	// manifest: on a disk that is still full it fails half-way, and the
	// database could then not even be opened read-only. While the open
	// database still serves reads, wait for room first.
	if free, ok := freeBytes(l.dir); ok && l.db != nil && free < l.reopenRoom() {
		return
	}
	l.releaseIterators()
	if l.db != nil {
		_ = l.closeDB()
	}
	db, stor, err := openDB(l.dir, l.opts)
	if err == nil {
		l.db, l.stor = db, stor
		l.brokenMu.Lock()
		l.broken = nil
		l.brokenMu.Unlock()
		return
	}
	ro := *l.opts
	ro.ReadOnly = true
	if db, stor, rerr := openDB(l.dir, &ro); rerr == nil {
		l.db, l.stor = db, stor
	}
	l.brokenMu.Lock()
	l.broken = wrapErr("reopen "+l.dir, err)
	l.brokenMu.Unlock()
}

// reopenRoom is the free space a reopen for writing waits for: room to
// flush two memtables and write a manifest.
func (l *LevelDB) reopenRoom() uint64 {
	wb := l.opts.WriteBuffer
	if wb <= 0 {
		wb = 4 << 20 // goleveldb's default
	}
	return uint64(2*wb) + 1<<20
}

// releaseIterators releases every open goleveldb iterator; they fail with
// ErrClosed from then on. The caller holds mu exclusively.
func (l *LevelDB) releaseIterators() {
	l.itersMu.Lock()
	for it := range l.iters {
		it.it.Release()
		it.it = nil
	}
	l.iters = map[*levelIterator]struct{}{}
	l.itersMu.Unlock()
}

// NewIterator implements Engine. The goleveldb iterator pins an implicit
// snapshot of the database.
func (l *LevelDB) NewIterator(ks Keyspace, r Range) Iterator {
	l.reopenIfGone()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return &errIterator{err: ErrClosed}
	}
	if err := ks.validate(); err != nil {
		return &errIterator{err: err}
	}
	if err := r.validate(); err != nil {
		return &errIterator{err: err}
	}
	if l.db == nil {
		return &errIterator{err: l.brokenErr()}
	}
	slice := &util.Range{Start: prefixed(ks, r.Start), Limit: []byte{byte(ks) + 1}}
	if r.Limit != nil {
		slice.Limit = prefixed(ks, r.Limit)
	}
	it := &levelIterator{l: l, it: l.db.NewIterator(slice, nil)}
	l.itersMu.Lock()
	l.iters[it] = struct{}{}
	l.itersMu.Unlock()
	return it
}

// Compact implements Compacter with goleveldb's CompactRange: the memtable
// is flushed and every table overlapping r is merged into the next level,
// down to the last, which drops deleted and overwritten records. One
// compaction runs at a time; Close waits for the one running.
func (l *LevelDB) Compact(ks Keyspace, r Range) error {
	if err := ks.validate(); err != nil {
		return err
	}
	if err := r.validate(); err != nil {
		return err
	}
	l.compactMu.Lock()
	defer l.compactMu.Unlock()
	// The database is taken under the shared lock, which is not held
	// while it compacts: a reopen after a write error, or a Close, then
	// does not wait for the compaction (and make every reader wait behind
	// it); it closes the database, and goleveldb ends the compaction with
	// ErrClosed.
	l.mu.RLock()
	db, closed := l.db, l.closed
	l.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if db == nil {
		return l.brokenErr()
	}
	slice := util.Range{Start: prefixed(ks, r.Start), Limit: []byte{byte(ks) + 1}}
	if r.Limit != nil {
		slice.Limit = prefixed(ks, r.Limit)
	}
	if err := db.CompactRange(slice); err != nil {
		if errors.Is(err, leveldb.ErrClosed) {
			return ErrClosed
		}
		return wrapErr("compact", err)
	}
	return nil
}

// Close implements Engine. Iterators still open are released and fail
// with ErrClosed from then on.
func (l *LevelDB) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	l.releaseIterators()
	if l.db == nil {
		return nil
	}
	if err := l.closeDB(); err != nil {
		return wrapErr("close "+l.dir, err)
	}
	return nil
}

// closeDB closes the database, then its file storage (releasing the
// directory's lock).
func (l *LevelDB) closeDB() error {
	err := l.db.Close()
	if serr := l.stor.Close(); err == nil {
		err = serr
	}
	l.db, l.stor = nil, nil
	return err
}

// levelIterator adapts a goleveldb iterator: it strips the keyspace prefix
// and copies keys and values, which goleveldb reuses.
type levelIterator struct {
	l          *LevelDB
	it         iterator.Iterator // nil once released
	key, value []byte
	err        error
	done       bool // exhausted
	closed     bool
}

func (it *levelIterator) Next() bool {
	it.key, it.value = nil, nil
	if it.closed || it.done || it.err != nil {
		return false
	}
	it.l.mu.RLock()
	defer it.l.mu.RUnlock()
	if it.it == nil { // released by LevelDB.Close
		it.err = ErrClosed
		return false
	}
	if !it.it.Next() {
		if err := it.it.Error(); err != nil {
			it.err = wrapErr("iterate", err)
		} else {
			it.done = true
		}
		it.release()
		return false
	}
	k, v := it.it.Key(), it.it.Value()
	buf := make([]byte, len(k)-1+len(v)) // one allocation for both
	n := copy(buf, k[1:])
	copy(buf[n:], v)
	it.key, it.value = buf[:n:n], buf[n:]
	return true
}

// release frees the goleveldb iterator. The caller holds l.mu shared.
func (it *levelIterator) release() {
	if it.it == nil {
		return
	}
	it.it.Release()
	it.it = nil
	it.l.itersMu.Lock()
	delete(it.l.iters, it)
	it.l.itersMu.Unlock()
}

func (it *levelIterator) Key() []byte   { return it.key }
func (it *levelIterator) Value() []byte { return it.value }

func (it *levelIterator) Error() error {
	if it.err == nil && it.closed {
		return ErrClosed
	}
	return it.err
}

func (it *levelIterator) Close() error {
	if it.closed {
		return ErrClosed
	}
	it.closed = true
	it.key, it.value = nil, nil
	it.l.mu.RLock()
	it.release()
	it.l.mu.RUnlock()
	return it.err
}
