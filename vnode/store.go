package vnode

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"

	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// Errors.
var (
	// ErrCorrupt marks a stored object that does not decode.
	ErrCorrupt = errors.New("vnode: stored object corrupt")
	// ErrInvalid marks a bad argument or configuration.
	ErrInvalid = errors.New("vnode: invalid")
	// ErrTooManySiblings marks a client write that would leave more than
	// MaxSiblings concurrent versions of a key.
	ErrTooManySiblings = errors.New("vnode: too many siblings")
	// ErrTooLarge marks a client write that would make a key's object
	// (every sibling's value) larger than MaxObjectBytes.
	ErrTooLarge = errors.New("vnode: object too large")
	// ErrExists marks an if-absent write to a key that holds a value.
	ErrExists = errors.New("vnode: the key holds a value")
)

// Config describes one vnode.
type Config struct {
	// Partition this vnode holds.
	Partition uint32
	// Partitions is the ring's Q (for segments). Power of two, 8..1024.
	Partitions int
	// Node is this node's name. The vnode's actor ids (the first half of
	// the dots it issues) are Node@<16 random hex digits>: a new one each
	// time the vnode opens, and whenever it may have lost a version it
	// coordinated (Store.Actor).
	Node string
	// Random draws actor ids. Default crypto/rand.Reader.
	Random io.Reader
	// Merkle is the shape of the partition's tree. Default merkle.DefaultConfig().
	Merkle merkle.Config
	// Sync makes every write fsync before it returns. Default true: an
	// acknowledged write survives a power loss.
	Sync bool
	// Flusher, when set, takes the buffered writes (MergeBuffered): they
	// are written without fsync and made durable by the Flusher within its
	// interval. Nil (the default): MergeBuffered writes as Merge does.
	Flusher *storage.Flusher
	// Committer, when set, writes the Store's batches in the node's groups
	// (storage.Committer), in the order the Store makes them: CommitAsync
	// and MergeAsync then hand their outcome on once the group is written,
	// and the Store serves the version from memory meanwhile. Nil: every
	// write is the Store's own Engine.Write, and the async calls finish
	// before they return.
	Committer *storage.Committer
	// MaxSiblings is the most versions (siblings, tombstones included) a
	// client write may leave on a key; a write above it is refused with
	// ErrTooManySiblings and the client must merge first. Replication, read
	// repair and handoff never refuse: they only carry what clients wrote.
	// Default 100. 0 means no limit.
	MaxSiblings int
	// MaxObjectBytes bounds the sum of a key's sibling values after a client
	// write (ErrTooLarge above it): a read returns every sibling in one
	// message. Default 16 MiB. 0 means no limit.
	MaxObjectBytes int
	// CacheBytes bounds the objects this vnode keeps in memory (counted as
	// key plus encoded object plus 96 bytes each), so reads of hot keys and
	// the reads before writes skip storage; objects above an
	// eighth of it are not kept. Default NodeCacheBytes divided by the
	// ring's partitions: a node holding every partition caches at most
	// NodeCacheBytes. 0 disables the cache.
	CacheBytes int
	// CacheStats receives the cache's counters; vnodes of a node share
	// one. Optional.
	CacheStats *CacheStats
	// ReapStats receives what reap passes deleted and pruned here; vnodes
	// of a node share one. Optional.
	ReapStats *ReapStats
}

// ReapStats are a node's reaping counters (Config.ReapStats), shared by
// its vnodes.
type ReapStats struct {
	// Reaped counts tombstones deleted by reap passes, PrunedEntries clock
	// entries dropped by them.
	Reaped, PrunedEntries atomic.Uint64
	// Compactions counts storage compactions of partition ranges after
	// reaps or drops, CompactNanos the time they took.
	Compactions, CompactNanos atomic.Uint64
}

// NodeCacheBytes is what the default CacheBytes of a node's vnodes add up
// to when it holds every partition (a cluster of N nodes).
const NodeCacheBytes = 32 << 20

// DefaultConfig returns the defaults for a partition of a ring of q
// partitions, on node.
func DefaultConfig(partition uint32, q int, node string) Config {
	return Config{Partition: partition, Partitions: q, Node: node, Merkle: merkle.DefaultConfig(), Sync: true,
		MaxSiblings: 100, MaxObjectBytes: 16 << 20, CacheBytes: NodeCacheBytes / q}
}

func (c Config) validate() error {
	if err := ring.ValidatePartitions(c.Partitions); err != nil {
		return fmt.Errorf("%w: Partitions: %v", ErrInvalid, err)
	}
	if c.Partition >= uint32(c.Partitions) {
		return fmt.Errorf("%w: Partition %d is not below Partitions %d", ErrInvalid, c.Partition, c.Partitions)
	}
	if c.Node == "" || len(c.Node) > version.MaxNodeLen {
		return fmt.Errorf("%w: Node must be 1 to %d bytes, got %d", ErrInvalid, version.MaxNodeLen, len(c.Node))
	}
	if c.CacheBytes < 0 {
		return fmt.Errorf("%w: CacheBytes must be >= 0, got %d", ErrInvalid, c.CacheBytes)
	}
	if err := c.Merkle.Validate(); err != nil {
		return fmt.Errorf("%w: Merkle: %v", ErrInvalid, err)
	}
	return nil
}

// Stats are counters a vnode reports.
type Stats struct {
	Keys    int    // keys held (from the Merkle tree)
	Writes  uint64 // objects written
	Corrupt uint64 // stored objects found undecodable
	Actor   string // the actor id of the dots issued now
	Dot     uint64 // highest dot counter issued under Actor
	Actors  uint64 // actor ids this Store has used (1 + renewals)
	// Reaped tombstones and PrunedEntries clock entries (Store.Reap).
	Reaped, PrunedEntries uint64
}

// Store is one partition replica's data and Merkle tree.
type Store struct {
	cfg   Config
	e     storage.Engine
	opts  storage.WriteOptions
	tree  *merkle.Tree
	actor string // the actor id of the dots issued now
	dot   uint64 // highest counter issued under actor
	// uncommitted holds, by object key, the versions this Store prepared
	// and whose commit failed or never came: they may be on other replicas
	// already, so Prepare merges them into the stored version it builds on
	// (the vnode still holds every version it issued). Dropped once the
	// stored version descends them; at most maxUncommitted keys.
	uncommitted map[string]map[version.Dot]*version.Set
	// pending is the last Prepare until its Commit.
	pending *Prepared
	// suspect holds the object keys found corrupt or unreadable since the
	// actor id was drawn: they may have held versions of actor, so the
	// next coordinating write of one takes a new actor id.
	suspect map[string]bool
	// stale: the whole partition may have lost versions of actor (a drop,
	// too many uncommitted versions): the next coordinating write takes a
	// new actor id.
	stale bool
	stats Stats
	cache *objectCache // nil when disabled
	// reapedSinceCompact counts objects reaped since a compaction was last
	// due (Reap).
	reapedSinceCompact int
	// build is the tree's build while it runs (OpenBuilding); tree then
	// holds only the changes written since the build's snapshot.
	build *Build
	// recorded: a persisted tree may be in storage; the next write
	// deletes it (commit).
	recorded bool
	// loaded: the tree came from the persisted record; treeUnusable says
	// why a record found was not used.
	loaded       bool
	treeUnusable error
	// inexact: a write failed, so storage may not match the tree.
	inexact bool
	// inflight holds, by object key, the newest version submitted to the
	// Committer whose write has not settled, and how many of the key's
	// writes have not: load serves it, so a write is never built on a
	// version older than one already submitted.
	inflight map[string]*flight
	// finished gathers the outcomes of submitted writes, on the
	// Committer's goroutine, until settle applies them on the Store's.
	finishedMu sync.Mutex
	finished   []finish
	// buffered is the Flusher mark (storage.Flusher.Mark) after which the
	// Store's buffered writes are durable; 0 when none may be unsynced.
	// Until the Flusher covers it, a durable write that changes nothing
	// makes a synced write before its ack (syncBuffered).
	buffered uint64
}

// flight is a key's newest version submitted and not settled.
type flight struct {
	raw, digest []byte
	n           int // the key's writes not settled
}

// finish is the outcome of a submitted write, applied by settle.
type finish struct {
	okey     string
	key      []byte
	seg      uint16
	digest   []byte // the version's, counted in the tree when submitted
	set      *version.Set
	prepared *Prepared // a coordinating write's: kept in memory if it failed
	record   bool      // the batch deleted the persisted tree
	dirty    bool      // written without fsync, for the Flusher to sync
	synced   bool      // written with fsync
	mark     uint64    // when dirty or failed: the Flusher mark that covers it
	err      error
}

// Open is OpenBuilding followed by the build, if one is needed, on the
// caller's goroutine: the Store it returns has its tree.
func Open(e storage.Engine, cfg Config) (*Store, error) {
	s, b, err := OpenBuilding(e, cfg)
	if err != nil || b == nil {
		return s, err
	}
	if err := b.Run(nil); err != nil {
		return nil, err
	}
	if err := s.Finish(b); err != nil {
		return nil, err
	}
	return s, nil
}

// OpenBuilding draws the vnode's actor id and loads the Merkle tree the
// vnode persisted when it last closed cleanly (Close), if the partition
// has not changed since. Otherwise (a first start, a crash, a record torn
// or of another shape) it returns a Build besides the Store: the Store
// serves reads and writes at once and records what they change, and its
// tree is ready (Tree, Ready) once the caller has run the Build, on a
// goroutine of its own if it likes, and handed it to Finish.
//
// The actor id is new at every open, random and never persisted: nothing
// that happened to the storage while the vnode was closed (a crash between
// a replicated write and its commit, objects lost or restored from an old
// copy, a partition dropped and regained) can make it claim a version it
// issued before, and its counters start at 1 without repeating a dot.
func OpenBuilding(e storage.Engine, cfg Config) (*Store, *Build, error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	if cfg.Random == nil {
		cfg.Random = rand.Reader
	}
	if cfg.Committer != nil {
		// Writes of an earlier Store of the partition (a vnode that
		// restarted) land before this one reads.
		cfg.Committer.Barrier()
	}
	s := &Store{cfg: cfg, e: e, opts: storage.WriteOptions{Sync: cfg.Sync}, cache: newObjectCache(cfg.CacheBytes, cfg.CacheStats),
		inflight: map[string]*flight{}}
	if _, dirty := s.bufferedOpts(); dirty {
		// An earlier Store of the partition (a vnode that restarted
		// without Close) may have left buffered writes unsynced.
		s.buffered = cfg.Flusher.Mark()
	}
	if err := s.renew(); err != nil {
		return nil, nil, err
	}
	t, found, why, err := loadTree(e, cfg.Partition, cfg.Merkle)
	if err != nil {
		return nil, nil, err
	}
	s.recorded, s.treeUnusable = found, why
	if t != nil {
		s.tree, s.loaded = t, true
		return s, nil, nil
	}
	s.tree, _ = merkle.New(cfg.Merkle)
	// The snapshot is taken here, before any write of this Store: every
	// later write goes into the tree of changes.
	it := e.NewIterator(storage.KeyspaceData, storage.PartitionRange(cfg.Partition))
	if !it.Next() { // an empty partition: its tree is empty
		err := it.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("vnode %d: %w", cfg.Partition, err)
		}
		return s, nil, nil
	}
	_ = it.Close()
	s.build = &Build{it: e.NewIterator(storage.KeyspaceData, storage.PartitionRange(cfg.Partition)), cfg: cfg.Merkle, p: cfg.Partition}
	return s, s.build, nil
}

// Finish installs the tree b built: b's snapshot plus what was written
// since. It fails when b is not this Store's build or its Run failed; the
// Store then has no tree (reopen it to build again).
func (s *Store) Finish(b *Build) error {
	if b == nil || b != s.build {
		return fmt.Errorf("%w: Finish of a build that is not this vnode's", ErrInvalid)
	}
	if b.err != nil || b.tree == nil {
		if b.err == nil {
			b.err = fmt.Errorf("vnode %d: Finish before the build ran", s.cfg.Partition)
		}
		return b.err
	}
	t := b.tree
	if err := t.Add(s.tree); err != nil {
		return err
	}
	s.tree, s.build = t, nil
	s.stats.Corrupt += b.corrupt
	return nil
}

// Ready reports whether the Store has its Merkle tree (Tree is not nil).
func (s *Store) Ready() bool { return s.build == nil }

// Loaded reports whether the tree came from the record of the last clean
// Close (no scan was needed), and why a record found was not used, if one
// was.
func (s *Store) Loaded() (bool, error) { return s.loaded, s.treeUnusable }

// Close persists the tree for the next open, unless it is still being
// built or may not match storage (a write failed: storage may hold either
// version). The record is written with an fsync, which makes every
// earlier unsynced write of the engine durable too. The Store must not be
// used after Close.
func (s *Store) Close() error {
	s.drain()
	if s.build != nil || s.inexact {
		return nil
	}
	b := storage.NewBatch()
	b.Put(storage.KeyspaceMeta, treeKey(s.cfg.Partition), encodeTree(s.cfg.Partition, s.tree))
	if err := s.e.Write(b, storage.WriteOptions{Sync: true}); err != nil {
		return fmt.Errorf("vnode %d: persisting the Merkle tree: %w", s.cfg.Partition, err)
	}
	return nil
}

// commit writes b. The first write after an open also deletes the
// persisted tree, in the same atomic batch, so that the record never
// outlives the data it matches. After a failed write storage may hold
// either version of what b changed: the tree may no longer match it, so
// Close persists nothing.
func (s *Store) commit(b *storage.Batch, opts storage.WriteOptions) error {
	if s.recorded {
		b.Delete(storage.KeyspaceMeta, treeKey(s.cfg.Partition))
	}
	write := s.e.Write
	if s.cfg.Committer != nil {
		write = s.cfg.Committer.Write // after what was submitted before
	}
	if err := write(b, opts); err != nil {
		s.inexact = true
		s.unsure()
		return err
	}
	s.recorded = false
	if opts.Sync {
		s.buffered = 0 // the fsync covered every write submitted before
	}
	return nil
}

// unsure records that a write failed: storage may hold it all the same,
// unsynced. The Flusher syncs it within its interval.
func (s *Store) unsure() {
	s.noteBuffered(s.cfg.Flusher.Mark())
	s.cfg.Flusher.Dirty()
}

// writeError is the error of a failed write of key in partition p.
func writeError(p uint32, key []byte, err error) error {
	return fmt.Errorf("vnode %d: writing %q: %w", p, key, err)
}

// submit hands the Committer the write of a key's version (encoded raw,
// with Merkle digest f.digest, at f.okey); fin gets the outcome on the
// Committer's goroutine, after the Store has it to settle. Until then load
// serves the version from inflight.
func (s *Store) submit(opts storage.WriteOptions, raw []byte, f finish, fin func(error)) {
	b := storage.NewBatch()
	b.Put(storage.KeyspaceData, []byte(f.okey), raw)
	if s.recorded {
		// recorded stays set until a write that deletes the record
		// settles: a failed one must not leave it for the next open.
		b.Delete(storage.KeyspaceMeta, treeKey(s.cfg.Partition))
		f.record = true
	}
	fl := s.inflight[f.okey]
	if fl == nil {
		fl = &flight{}
		s.inflight[f.okey] = fl
	}
	fl.raw, fl.digest = raw, f.digest
	fl.n++
	part := s.cfg.Partition
	flusher := s.cfg.Flusher
	f.synced = opts.Sync
	s.cfg.Committer.Submit(b, opts, func(err error) {
		f.err = err
		if f.dirty || err != nil {
			// Before fin's Dirty, or this one's. A failed write counts
			// too: storage may hold it all the same, unsynced.
			f.mark = flusher.Mark()
			if err != nil {
				flusher.Dirty()
			}
		}
		s.finishedMu.Lock()
		s.finished = append(s.finished, f)
		s.finishedMu.Unlock()
		if err != nil {
			err = writeError(part, f.key, err)
		}
		fin(err)
	})
}

// settle applies the outcomes of submitted writes: a written one counts
// (and drops the uncommitted versions it descends); a failed one leaves
// the Store inexact (its tree counted the version) and a coordinating
// one's version in memory (remember). Every exported method that reads or
// writes the Store's state settles first.
func (s *Store) settle() {
	s.finishedMu.Lock()
	list := s.finished
	s.finished = nil
	s.finishedMu.Unlock()
	for _, f := range list {
		if fl := s.inflight[f.okey]; fl != nil {
			if fl.n--; fl.n <= 0 {
				delete(s.inflight, f.okey)
			}
		}
		if f.err == nil && f.synced {
			// Its fsync covered every write submitted before it; those
			// after it settle after it (the Committer keeps their order).
			s.buffered = 0
		}
		s.noteBuffered(f.mark)
		if f.err == nil {
			if f.record {
				s.recorded = false
			}
			if f.set != nil {
				s.settled(f.okey, f.set)
			}
			continue
		}
		s.inexact = true
		s.cache.remove([]byte(f.okey))
		if s.inflight[f.okey] == nil {
			// The key's last write in flight: the tree counts what
			// storage holds (either version), as after a synchronous
			// write that failed.
			if d, ok := s.storedDigest([]byte(f.okey)); ok {
				s.tree.Update(uint32(f.seg), f.key, f.digest, d)
				if p := s.pending; p != nil && string(p.okey) == f.okey {
					p.oldDigest = d // what its commit replaces in the tree
				}
			}
		}
		if f.prepared != nil {
			s.remember(f.prepared)
		}
	}
}

// storedDigest is the Merkle digest of the object storage holds at okey
// (nil when absent); ok is false when storage could not be read.
func (s *Store) storedDigest(okey []byte) (digest []byte, ok bool) {
	raw, err := s.e.Get(storage.KeyspaceData, okey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, true
	}
	if err != nil {
		return nil, false
	}
	set, err := version.Unmarshal(raw)
	if err != nil {
		return corruptDigest(raw), true
	}
	d := version.Digest(set)
	return d[:], true
}

// quiesce settles, and when a write of any of okeys is in flight, waits
// for every write the Store submitted (drain): a synchronous write is
// never built on a version whose write may still fail.
func (s *Store) quiesce(okeys ...[]byte) {
	s.settle()
	for _, k := range okeys {
		if s.inflight[string(k)] != nil {
			s.drain()
			return
		}
	}
}

// drain waits until every write the Store submitted is written, and
// settles them.
func (s *Store) drain() {
	s.settle()
	if len(s.inflight) > 0 { // every submitted write is there until it settles
		s.cfg.Committer.Barrier()
		s.settle()
	}
}

// renew draws a new actor id: the vnode's dots continue under it from 1.
func (s *Store) renew() error {
	var b [8]byte
	if _, err := io.ReadFull(s.cfg.Random, b[:]); err != nil {
		return fmt.Errorf("vnode %d: drawing an actor id: %w", s.cfg.Partition, err)
	}
	s.actor, s.dot, s.stale = version.ActorID(s.cfg.Node, binary.BigEndian.Uint64(b[:])), 0, false
	s.uncommitted, s.suspect = map[string]map[version.Dot]*version.Set{}, map[string]bool{}
	s.stats.Actors++
	return nil
}

// maxUncommitted bounds Store.uncommitted: beyond it the vnode takes a new
// actor id and forgets them.
const maxUncommitted = 4096

// remember keeps a prepared version whose commit failed or never came.
func (s *Store) remember(p *Prepared) {
	k := string(p.okey)
	if s.uncommitted[k] == nil {
		s.uncommitted[k] = map[version.Dot]*version.Set{}
	}
	s.uncommitted[k][p.Dot] = p.Set
	if len(s.uncommitted) > maxUncommitted {
		s.stale = true
	}
}

// Actor is the actor id the vnode's next dot is issued under. It changes
// whenever the vnode cannot be sure it holds every version of a key it
// coordinated under the current one, because a new version's clock entry
// covers every lower counter of its actor (Riak's kv679): at Open; before
// writing a key whose stored object was found corrupt or could not be
// read since the id was drawn; after a drop; when a stored clock claims a
// counter of the actor above any it issued (a forged context another
// coordinator accepted); when more than maxUncommitted keys hold a
// version whose commit failed; and if the counter would overflow. A
// commit that fails otherwise keeps the id: the vnode keeps the version
// in memory (it may be on other replicas already) and builds the key's
// next version on it.
func (s *Store) Actor() string { return s.actor }

// decode turns the stored bytes of the object at okey into a set and its
// Merkle digest. A corrupt object gets a digest no valid object can have
// (a different domain), so anti-entropy sees it differ from every healthy
// replica, and its key becomes suspect (see Actor).
func (s *Store) decode(okey, raw []byte) (*version.Set, []byte, error) {
	set, err := version.Unmarshal(raw)
	if err != nil {
		s.stats.Corrupt++
		s.suspect[string(okey)] = true
		return nil, corruptDigest(raw), fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	d := version.Digest(set)
	return set, d[:], nil
}

// corruptDigest is the Merkle digest of stored bytes that do not decode,
// in a domain of its own.
func corruptDigest(raw []byte) []byte {
	h := sha256.Sum256(append([]byte("dynamo-corrupt-object\x00"), raw...))
	return h[:]
}

func (s *Store) locate(key []byte) (objectKey []byte, segment uint16, err error) {
	if len(key) == 0 {
		return nil, 0, fmt.Errorf("%w: empty key", ErrInvalid)
	}
	h := ring.HashKey(key)
	if p := ring.PartitionOf(h, s.cfg.Partitions); p != s.cfg.Partition {
		return nil, 0, fmt.Errorf("%w: key belongs to partition %d, this vnode holds %d", ErrInvalid, p, s.cfg.Partition)
	}
	seg := ring.SegmentOf(h, s.cfg.Partitions)
	return storage.ObjectKey(s.cfg.Partition, seg, key), seg, nil
}

// load reads the stored object: its set (nil when absent or corrupt), its
// digest (nil when absent) and a corruption error.
func (s *Store) load(okey []byte) (*version.Set, []byte, error) {
	if fl := s.inflight[string(okey)]; fl != nil {
		if set, err := version.Unmarshal(fl.raw); err == nil {
			return set, fl.digest, nil
		}
	}
	if e, ok := s.cache.get(okey); ok {
		set, err := version.Unmarshal(e.raw)
		if err == nil {
			return set, e.digest[:], nil
		}
		s.cache.remove(okey) // cannot happen: only decoded objects are kept
	}
	raw, err := s.e.Get(storage.KeyspaceData, okey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		s.suspect[string(okey)] = true // the object may be lost, not just unreadable now
		return nil, nil, fmt.Errorf("vnode %d: %w", s.cfg.Partition, err)
	}
	set, digest, derr := s.decode(okey, raw)
	if derr == nil {
		s.cache.put(okey, raw, digest)
	}
	return set, digest, derr
}

// Get returns the stored set of key, or nil when the key is absent.
func (s *Store) Get(key []byte) (*version.Set, error) {
	s.settle()
	okey, _, err := s.locate(key)
	if err != nil {
		return nil, err
	}
	set, digest, err := s.load(okey)
	if digest == nil && err != nil {
		return nil, err // storage error
	}
	return set, err
}

// Prepared is a coordinating write computed by Prepare and not yet stored.
type Prepared struct {
	// Set is the key's new version set, with this vnode's new dot.
	Set *version.Set
	// Dot is the new version's dot.
	Dot       version.Dot
	key, okey []byte
	seg       uint16
	oldDigest []byte
}

// Prepare applies a client write as the coordinating replica (the vnode's
// new dot, version.Update under its current actor id) without storing it:
// the coordinator may replicate Set while Commit makes it durable here,
// so a write waits for one round of disk syncs instead of two. If Commit
// then fails (or a next Prepare comes first), the version may live on
// other replicas only: the Store keeps it in memory and merges it into the
// stored version the key's next write builds on, so that write's clock
// claims only versions the vnode holds. After a restart the vnode has a
// new actor id (Open).
//
// A context that names a counter of the vnode's current actor above any it
// issued is refused (version.ErrBadContext): its clock would claim dots
// not issued yet. When the stored version already claims such a counter
// (a forged context accepted by another coordinator, then replicated), the
// vnode takes a new actor id instead, and a read's context of that version
// is accepted.
func (s *Store) Prepare(key []byte, ctx version.Context, w version.Write, nowMs int64) (*Prepared, error) {
	s.settle()
	okey, seg, err := s.locate(key)
	if err != nil {
		return nil, err
	}
	if s.pending != nil { // prepared, and never committed: it may be out
		s.remember(s.pending)
		s.pending = nil
	}
	local, oldDigest, err := s.load(okey)
	if oldDigest == nil && err != nil {
		return nil, err
	}
	for _, u := range s.uncommitted[string(okey)] {
		local = version.Sync(local, u)
	}
	stored := local.Clock().Get(s.actor)
	if n := ctx.Get(s.actor); n > max(s.dot, stored) {
		return nil, fmt.Errorf("%w: the context claims counter %d of this vnode's actor %s, which has issued %d", version.ErrBadContext, n, s.actor, s.dot)
	}
	if s.stale || s.suspect[string(okey)] || stored > s.dot || s.dot == math.MaxUint64 {
		if err := s.renew(); err != nil {
			return nil, err
		}
	}
	w.Floor = s.dot
	set, err := version.Update(local, ctx, w, s.actor, nowMs)
	if err != nil {
		return nil, err
	}
	if err := s.checkLimits(set); err != nil {
		return nil, err
	}
	s.dot++
	dot := version.Dot{Actor: s.actor, Counter: s.dot}
	if set.Clock().Get(s.actor) != s.dot {
		panic(fmt.Sprintf("vnode %d: version.Update issued %s:%d, not the vnode's next counter %d", s.cfg.Partition, s.actor, set.Clock().Get(s.actor), s.dot))
	}
	s.pending = &Prepared{Set: set, Dot: dot, key: key, okey: okey, seg: seg, oldDigest: oldDigest}
	return s.pending, nil
}

// Holds reports whether key holds a value here at nowNs (Unix ns) as a read
// in mode shows it (version.Set.Live: in ModeSiblings a live sibling, in
// ModeLWW a live winner), in the stored version merged with any version
// this vnode prepared whose commit failed or never came (it may be on
// other replicas). A corrupt object counts as holding one. An if-absent
// write is refused when it does; the vnode's single goroutine makes the
// check and the write one step.
func (s *Store) Holds(key []byte, nowNs int64, mode version.ConflictMode) (bool, error) {
	s.settle()
	okey, _, err := s.locate(key)
	if err != nil {
		return false, err
	}
	local, digest, err := s.load(okey)
	if digest == nil && err != nil {
		return false, err
	}
	if err != nil { // corrupt: its value is unknown, not absent
		return true, nil
	}
	for _, u := range s.uncommitted[string(okey)] {
		local = version.Sync(local, u)
	}
	if s.pending != nil && string(s.pending.okey) == string(okey) {
		local = version.Sync(local, s.pending.Set)
	}
	_, live := local.Live(mode, nowNs)
	return live, nil
}

// Forget drops the version of key with dot, prepared here and never
// committed, when its coordinator knows it was stored nowhere (every other
// replica refused it and no hint of it was kept): the key's next version
// then claims its dot without holding it, which no replica can tell, and
// a retried write leaves no sibling of its failed attempts.
func (s *Store) Forget(key []byte, dot version.Dot) {
	s.settle()
	okey, _, err := s.locate(key)
	if err != nil {
		return
	}
	if s.pending != nil && s.pending.Dot == dot {
		s.pending = nil
	}
	if us := s.uncommitted[string(okey)]; us != nil {
		delete(us, dot)
		if len(us) == 0 {
			delete(s.uncommitted, string(okey))
		}
	}
}

// Commit stores a prepared write. When it fails, the Store keeps the
// version in memory and builds the key's next version on it (see Prepare).
func (s *Store) Commit(p *Prepared) error {
	s.quiesce(p.okey)
	if s.pending == p {
		s.pending = nil
	}
	err := s.store(p.okey, p.seg, p.key, p.Set, p.oldDigest)
	if err != nil {
		s.remember(p)
	}
	return err
}

// CommitAsync is Commit handing its outcome to done: with a Committer,
// on the Committer's goroutine once the node's group holding the write is
// written (done must not block); the Store serves the version meanwhile.
// Without one, before CommitAsync returns.
func (s *Store) CommitAsync(p *Prepared, done func(error)) {
	if s.cfg.Committer == nil {
		done(s.Commit(p))
		return
	}
	s.settle()
	if s.pending == p {
		s.pending = nil
	}
	raw, err := version.Marshal(p.Set)
	if err != nil {
		s.remember(p)
		done(writeError(s.cfg.Partition, p.key, err))
		return
	}
	d := s.applied(p.key, p.okey, p.seg, p.oldDigest, p.Set, raw)
	s.submit(s.opts, raw, finish{okey: string(p.okey), key: p.key, seg: p.seg, digest: d, set: p.Set, prepared: p}, done)
}

// checkLimits refuses a client write whose result exceeds MaxSiblings or
// MaxObjectBytes.
func (s *Store) checkLimits(set *version.Set) error {
	if s.cfg.MaxSiblings > 0 && set.Len() > s.cfg.MaxSiblings {
		return fmt.Errorf("%w: the write would leave %d versions, the limit is %d (read, merge the siblings and write with the read's context)",
			ErrTooManySiblings, set.Len(), s.cfg.MaxSiblings)
	}
	if s.cfg.MaxObjectBytes > 0 {
		total := 0
		for _, sib := range set.Siblings() {
			total += len(sib.Value)
		}
		if total > s.cfg.MaxObjectBytes {
			return fmt.Errorf("%w: the siblings' values would total %d bytes, the limit is %d (merge the siblings)",
				ErrTooLarge, total, s.cfg.MaxObjectBytes)
		}
	}
	return nil
}

// Merge syncs in (a set from another replica) into the stored version of
// key. It returns the result and whether anything was written: merging
// what the replica already has writes nothing.
func (s *Store) Merge(key []byte, in *version.Set) (*version.Set, bool, error) {
	return s.merge(key, in, s.opts)
}

// MergeAsync is Merge handing whether anything was written, and the
// outcome, to done: with a Committer on the Committer's goroutine once the
// node's group holding the write is written (done must not block), the
// Store serving the version meanwhile; without one before MergeAsync
// returns.
func (s *Store) MergeAsync(key []byte, in *version.Set, buffered bool, done func(changed bool, err error)) {
	if s.cfg.Committer == nil {
		merge := s.Merge
		if buffered {
			merge = s.MergeBuffered
		}
		_, changed, err := merge(key, in)
		done(changed, err)
		return
	}
	s.settle()
	m, err := s.merged(key, in)
	if err != nil {
		done(false, err)
		return
	}
	opts, dirty := s.opts, false
	if buffered {
		opts, dirty = s.bufferedOpts()
	}
	flusher := s.cfg.Flusher
	written := func(changed bool) func(error) {
		return func(err error) {
			if dirty {
				// It syncs the write within its interval (a failed one
				// too: storage may hold it).
				flusher.Dirty()
			}
			done(changed && err == nil, err)
		}
	}
	if !m.changed {
		fl := s.inflight[string(m.okey)]
		if fl == nil {
			if !buffered && s.unsynced() {
				// The copy stored may be a buffered write not synced yet.
				part := s.cfg.Partition
				s.cfg.Committer.Submit(s.syncBatch(), storage.WriteOptions{Sync: true}, func(err error) {
					if err != nil {
						err = writeError(part, key, err)
					}
					done(false, err)
				})
				return
			}
			done(false, nil)
			return
		}
		// What is in flight already covers in, but is not durable yet:
		// the answer waits for a write of it.
		s.submit(opts, fl.raw, finish{okey: string(m.okey), key: key, seg: m.seg, digest: fl.digest, dirty: dirty}, written(false))
		return
	}
	raw, err := version.Marshal(m.set)
	if err != nil {
		done(false, err)
		return
	}
	d := s.applied(key, m.okey, m.seg, m.oldDigest, m.set, raw)
	s.submit(opts, raw, finish{okey: string(m.okey), key: key, seg: m.seg, digest: d, set: m.set, dirty: dirty}, written(true))
}

// MergeBuffered is Merge for a replica write whose coordinator made the
// version durable itself (the Dynamo paper's "durable write" by one
// replica): with a Flusher and Sync on, the write reaches the engine
// without fsync, so it survives the process but not yet the machine, and
// the Flusher makes it durable within its interval. Otherwise it is Merge.
func (s *Store) MergeBuffered(key []byte, in *version.Set) (*version.Set, bool, error) {
	opts, dirty := s.bufferedOpts()
	set, changed, err := s.merge(key, in, opts)
	if dirty && changed {
		s.noteBuffered(s.cfg.Flusher.Mark()) // before the Dirty
		s.cfg.Flusher.Dirty()
	}
	return set, changed, err
}

// noteBuffered records that a buffered write is durable once the Flusher
// covers mark (0: nothing to record).
func (s *Store) noteBuffered(mark uint64) {
	if mark > s.buffered {
		s.buffered = mark
	}
}

// unsynced reports whether a buffered write of the Store may not be
// durable yet.
func (s *Store) unsynced() bool {
	if s.buffered != 0 && s.cfg.Flusher.Covers(s.buffered) {
		s.buffered = 0
	}
	return s.buffered != 0
}

// SyncKey is the KeyspaceMeta key of partition p's syncBatch: never
// written, only deleted.
func SyncKey(p uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte("vnode-sync/"), p)
}

// syncBatch is a write that changes nothing: synced, it makes every
// earlier write of the engine durable (the journal is written in order).
func (s *Store) syncBatch() *storage.Batch {
	b := storage.NewBatch()
	b.Delete(storage.KeyspaceMeta, SyncKey(s.cfg.Partition))
	return b
}

// syncBuffered makes the Store's buffered writes durable, if any may not
// be, before a durable write of key that changed nothing is acked: its
// sender counts the ack as a durable copy (a hint delivered, a handoff, a
// repair) and may drop its own.
func (s *Store) syncBuffered(key []byte) error {
	if !s.unsynced() {
		return nil
	}
	return s.syncNow(key)
}

// syncNow makes a synced write that changes nothing: every write of the
// engine before it is durable once it returns nil.
func (s *Store) syncNow(key []byte) error {
	write := s.e.Write
	if s.cfg.Committer != nil {
		write = s.cfg.Committer.Write
	}
	if err := write(s.syncBatch(), storage.WriteOptions{Sync: true}); err != nil {
		if key == nil {
			return fmt.Errorf("vnode %d: syncing buffered writes: %w", s.cfg.Partition, err)
		}
		return writeError(s.cfg.Partition, key, err)
	}
	// Every write submitted before is written and covered; any not
	// settled yet notes its own mark when it settles.
	s.buffered = 0
	return nil
}

// bufferedOpts are the write options of a buffered replica write, and
// whether the Flusher must then sync it: without fsync when there is a
// Flusher and the Store syncs; else the Store's own.
func (s *Store) bufferedOpts() (opts storage.WriteOptions, dirty bool) {
	if s.cfg.Flusher == nil || !s.opts.Sync {
		return s.opts, false
	}
	return storage.WriteOptions{}, true
}

func (s *Store) merge(key []byte, in *version.Set, opts storage.WriteOptions) (*version.Set, bool, error) {
	if okey, _, err := s.locate(key); err == nil {
		s.quiesce(okey)
	}
	m, err := s.merged(key, in)
	if err != nil {
		return m.set, false, err
	}
	if !m.changed {
		if opts.Sync {
			err = s.syncBuffered(key)
		}
		return m.set, false, err
	}
	if err := s.storeWith(m.okey, m.seg, key, m.set, m.oldDigest, opts); err != nil {
		return nil, false, err
	}
	return m.set, true, nil
}

// merge is the outcome of syncing a set into a stored key, not yet written.
type merge struct {
	key, okey []byte
	seg       uint16
	oldDigest []byte       // nil when the key was absent
	set       *version.Set // the result (the stored set when unchanged)
	changed   bool         // set must be written
	raw       []byte       // set encoded (MergeMany)
}

// merged syncs in into key's stored version. A replica that already
// descends in (and is not corrupt) is unchanged, and so is an empty result.
func (s *Store) merged(key []byte, in *version.Set) (merge, error) {
	okey, seg, err := s.locate(key)
	if err != nil {
		return merge{}, err
	}
	local, oldDigest, err := s.load(okey)
	if oldDigest == nil && err != nil {
		return merge{}, err
	}
	m := merge{key: key, okey: okey, seg: seg, oldDigest: oldDigest, set: local}
	if corrupt := err != nil; !corrupt && local != nil && version.Descends(local, in) {
		return m, nil
	}
	m.set = version.Sync(local, in)
	m.changed = !m.set.IsEmpty() // nothing to store for an empty set
	return m, nil
}

// Item is one key and a version set to merge.
type Item struct {
	Key []byte
	Set *version.Set
}

// MergeMany merges every item as Merge does, in one atomic storage write
// (one fsync for the batch), and returns how many changed the replica. A
// key may appear once per call. On error nothing was written. Without
// items it is a barrier: once it returns nil, every version the Store
// holds or has submitted is durable (a handoff asks it of each new owner
// before its source drops the partition on the strength of their trees).
func (s *Store) MergeMany(items []Item) (int, error) {
	if len(items) == 0 {
		// Whatever the Store knows of its writes: an earlier Store of the
		// partition, or a failing Flusher, may have left some unsynced.
		s.drain()
		return 0, s.syncNow(nil)
	}
	okeys := make([][]byte, 0, len(items))
	for _, it := range items {
		if okey, _, err := s.locate(it.Key); err == nil {
			okeys = append(okeys, okey)
		}
	}
	s.quiesce(okeys...)
	b := storage.NewBatch()
	var changes []merge
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if seen[string(it.Key)] {
			return 0, fmt.Errorf("%w: key %q twice in one merge", ErrInvalid, it.Key)
		}
		seen[string(it.Key)] = true
		m, err := s.merged(it.Key, it.Set)
		if err != nil {
			return 0, err
		}
		if !m.changed {
			continue
		}
		raw, err := version.Marshal(m.set)
		if err != nil {
			return 0, err
		}
		b.Put(storage.KeyspaceData, m.okey, raw)
		m.raw = raw
		changes = append(changes, m)
	}
	if len(changes) == 0 {
		return 0, s.syncBuffered(items[0].Key)
	}
	okeys = make([][]byte, len(changes))
	for i, m := range changes {
		okeys[i] = m.okey
	}
	if err := s.write(b, okeys...); err != nil {
		return 0, fmt.Errorf("vnode %d: merging %d keys: %w", s.cfg.Partition, len(changes), err)
	}
	for _, m := range changes {
		s.stored(m.key, m.okey, m.seg, m.oldDigest, m.set, m.raw)
	}
	return len(changes), nil
}

// store writes set, then updates the tree.
func (s *Store) store(okey []byte, seg uint16, key []byte, set *version.Set, oldDigest []byte) error {
	return s.storeWith(okey, seg, key, set, oldDigest, s.opts)
}

func (s *Store) storeWith(okey []byte, seg uint16, key []byte, set *version.Set, oldDigest []byte, opts storage.WriteOptions) error {
	raw, err := version.Marshal(set)
	if err != nil {
		return err
	}
	b := storage.NewBatch()
	b.Put(storage.KeyspaceData, okey, raw)
	if err := s.writeWith(b, opts, okey); err != nil {
		return writeError(s.cfg.Partition, key, err)
	}
	s.stored(key, okey, seg, oldDigest, set, raw)
	return nil
}

// write writes b, the objects at okeys among its records. After a failed
// write storage may hold either version of each, so the cache forgets
// them.
func (s *Store) write(b *storage.Batch, okeys ...[]byte) error {
	return s.writeWith(b, s.opts, okeys...)
}

func (s *Store) writeWith(b *storage.Batch, opts storage.WriteOptions, okeys ...[]byte) error {
	err := s.commit(b, opts)
	if err != nil {
		for _, k := range okeys {
			s.cache.remove(k)
		}
	}
	return err
}

// stored records a successful write of set (encoded as raw) under key in
// the tree, the cache and the counters.
func (s *Store) stored(key, okey []byte, seg uint16, oldDigest []byte, set *version.Set, raw []byte) {
	s.applied(key, okey, seg, oldDigest, set, raw)
	s.settled(string(okey), set)
}

// applied records a write of set (encoded as raw) under key in the tree
// and the cache, and returns its digest.
func (s *Store) applied(key, okey []byte, seg uint16, oldDigest []byte, set *version.Set, raw []byte) []byte {
	d := version.Digest(set)
	s.tree.Update(uint32(seg), key, oldDigest, d[:])
	s.cache.put(okey, raw, d[:])
	return d[:]
}

// settled records that the write of set at okey is in storage: it counts,
// and the uncommitted versions set descends are dropped.
func (s *Store) settled(okey string, set *version.Set) {
	s.stats.Writes++
	if us, ok := s.uncommitted[okey]; ok {
		for d, u := range us {
			if version.Descends(set, u) {
				delete(us, d)
			}
		}
		if len(us) == 0 {
			delete(s.uncommitted, okey)
		}
	}
}

// Tree returns the partition's Merkle tree, nil while it is being built
// (Ready). It is the Store's own: clone it before using it outside the
// vnode's goroutine.
func (s *Store) Tree() *merkle.Tree {
	s.settle()
	if s.build != nil {
		return nil
	}
	return s.tree
}

// ListKeys returns the keys of the partition that start with prefix, with
// their version sets (deleted keys too: whoever merges replicas needs
// their tombstones; a corrupt object is skipped, its versions unknown),
// in storage order (by segment, then key), from the one after key after
// (nil: from the first; after need not be stored, only of this
// partition): at most limit keys, after reading at most maxScan objects.
// next is the last key read, to pass as after to continue; done reports
// that the partition was read to its end.
func (s *Store) ListKeys(after, prefix []byte, limit, maxScan int) (items []Item, next []byte, done bool, err error) {
	return s.page(after, prefix, limit, maxScan, math.MaxInt)
}

// Export returns the whole version sets (tombstones included) of the
// partition's keys in storage order, from the one after key after (nil:
// the first; as ListKeys): at most limit keys and about maxBytes of
// encoded sets (at least one key). next is the last key read; done
// reports the end of the partition. A corrupt object is skipped (its
// versions are unknown; the other replicas' are exported).
func (s *Store) Export(after []byte, limit, maxBytes int) (items []Item, next []byte, done bool, err error) {
	return s.page(after, nil, limit, math.MaxInt, maxBytes)
}

// page reads the partition's objects after key after (nil: from the
// first) in storage order, keeping those whose key starts with prefix
// and that decode, until it holds limit items, has read maxScan objects,
// or holds at least one item and maxBytes of keys and encoded sets.
func (s *Store) page(after, prefix []byte, limit, maxScan, maxBytes int) (items []Item, next []byte, done bool, err error) {
	s.drain() // a scan reads storage: the writes in flight first
	r := storage.PartitionRange(s.cfg.Partition)
	if after != nil {
		okey, _, err := s.locate(after)
		if err != nil {
			return nil, nil, false, fmt.Errorf("%w: the cursor's key: %v", ErrInvalid, err)
		}
		r.Start = append(okey, 0) // the first object key after it
	}
	it := s.e.NewIterator(storage.KeyspaceData, r)
	defer it.Close()
	scanned, size := 0, 0
	for len(items) < limit && scanned < maxScan && (size < maxBytes || len(items) == 0) {
		if !it.Next() {
			if err := it.Error(); err != nil {
				return nil, nil, false, fmt.Errorf("vnode %d: reading the partition: %w", s.cfg.Partition, err)
			}
			return items, next, true, nil
		}
		scanned++
		_, _, key, err := storage.ParseObjectKey(it.Key())
		if err != nil {
			return nil, nil, false, err
		}
		next = key
		if !bytes.HasPrefix(key, prefix) {
			continue
		}
		set, derr := version.Unmarshal(it.Value())
		if derr != nil {
			continue
		}
		size += len(key) + len(it.Value())
		items = append(items, Item{Key: key, Set: set})
	}
	return items, next, false, nil
}

// Scan calls fn for every stored object of the partition whose segment is
// in [first, last], in key order, with its set and the digest the Merkle
// tree holds for it. A corrupt object is passed with a nil set and a digest
// in a domain of its own, so it differs from every healthy replica's.
// Anti-entropy lists differing segments with it.
func (s *Store) Scan(first, last uint16, fn func(key []byte, set *version.Set, digest []byte) error) error {
	s.drain() // a scan reads storage: the writes in flight first
	it := s.e.NewIterator(storage.KeyspaceData, storage.SegmentRange(s.cfg.Partition, first, last))
	defer it.Close()
	for it.Next() {
		_, _, key, err := storage.ParseObjectKey(it.Key())
		if err != nil {
			return err
		}
		set, digest, _ := s.decode(it.Key(), it.Value())
		if err := fn(key, set, digest); err != nil {
			return err
		}
	}
	return it.Error()
}

// Drop deletes the partition's data after a handoff, if the tree's root is
// still expect (nothing was written since the handoff's snapshot): it
// returns false, deleting nothing, otherwise. A vnode that holds the
// partition again later coordinates under a new actor id, so it never
// claims a version it dropped. Deletes go
// in batches; a crash part-way leaves the rest, which the next start hands
// off again (merges are idempotent).
func (s *Store) Drop(expect merkle.Hash) (bool, error) {
	s.drain()
	if s.build != nil || s.tree.Root() != expect {
		return false, nil
	}
	// Until the last batch is written storage holds part of the
	// partition, which the tree does not describe: a Drop that fails on
	// the way leaves the Store inexact (Close persists nothing).
	s.inexact = true
	s.stale = true
	s.cache.clear()
	// One pass of one iterator (a snapshot): deleting while it runs does
	// not disturb it.
	it := s.e.NewIterator(storage.KeyspaceData, storage.PartitionRange(s.cfg.Partition))
	defer it.Close()
	b := storage.NewBatch()
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		err := s.commit(b, s.opts)
		b = storage.NewBatch()
		return err
	}
	for it.Next() {
		b.Delete(storage.KeyspaceData, it.Key())
		if b.Len() >= dropBatch {
			if err := flush(); err != nil {
				return false, fmt.Errorf("vnode %d: dropping: %w", s.cfg.Partition, err)
			}
		}
	}
	if err := it.Error(); err != nil {
		return false, fmt.Errorf("vnode %d: dropping: %w", s.cfg.Partition, err)
	}
	if err := flush(); err != nil {
		return false, fmt.Errorf("vnode %d: dropping: %w", s.cfg.Partition, err)
	}
	tree, err := merkle.New(s.cfg.Merkle)
	if err != nil {
		return false, err
	}
	s.tree, s.inexact = tree, false // the partition is empty, as its tree
	return true, nil
}

// dropBatch is how many objects Drop deletes per write.
const dropBatch = 1000

// HasData reports whether e holds any object of partition p (a node
// starting up hands off the partitions it holds data of but no longer
// owns).
func HasData(e storage.Engine, p uint32) (bool, error) {
	it := e.NewIterator(storage.KeyspaceData, storage.PartitionRange(p))
	found := it.Next()
	err := it.Close()
	return found, err
}

// Keys is how many objects the partition holds (its tree's count; while
// the tree builds, the keys scanned so far plus what writes added since).
func (s *Store) Keys() int {
	n := s.tree.Count()
	if s.build != nil {
		n += s.build.Scanned()
	}
	return n
}

// Stats returns the vnode's counters.
func (s *Store) Stats() Stats {
	s.settle()
	st := s.stats
	st.Keys = s.Keys()
	st.Actor, st.Dot = s.actor, s.dot
	return st
}
