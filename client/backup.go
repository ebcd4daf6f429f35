package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dynamokv/dynamo/backup"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/request"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
)

// BackupProgress is how far an Export or Import has come.
type BackupProgress struct {
	// Partition is the partition being exported (Export), of Partitions.
	Partition, Partitions int
	// Keys written to the file (Export) or merged into the cluster
	// (Import) so far, and Bytes of the file read or written.
	Keys  uint64
	Bytes int64
}

// exportPage is how many keys one ExportRequest may bring.
const exportPage = 1000

// Export writes every key's whole version set (siblings, clocks and
// tombstones) from the running cluster to w, in the format of package
// backup, and returns how many keys it wrote. It goes partition by
// partition, page by page; each page asks every up primary of the
// partition and merges their sets (request.MergePages, version.Sync), so
// a replica that lacks versions hides none. A page that any up primary
// fails to answer fails the export (a replica that does not answer may
// hold the only copy of a version: a backup must be whole); so does a
// partition with no primary up. Writes made during the
// export may or may not be in it. progress, when set, is called after
// each page.
func (c *Client) Export(ctx context.Context, w io.Writer, progress func(BackupProgress)) (uint64, error) {
	if c.isClosed() {
		return 0, ErrClosed
	}
	v := c.view.Load()
	q := v.m.Partitions
	bw, err := backup.NewWriter(w, backup.Header{Partitions: q, CreatedMs: time.Now().UnixMilli()})
	if err != nil {
		return 0, err
	}
	for p := uint32(0); int(p) < q; p++ {
		var after []byte
		for {
			req := &messages.ExportRequest{Partition: p, After: after, Limit: exportPage}
			pages, err := c.askPages(ctx, c.view.Load(), p, req, true, "export", func(env *messages.Envelope) pageReply {
				if r := env.GetExportReply(); r != nil {
					return r
				}
				return nil
			})
			if err != nil {
				return bw.Records(), fmt.Errorf("exporting partition %d: %w", p, err)
			}
			keys, sets, next, done := request.MergePages(q, exportPage, pages)
			for i, k := range keys {
				if err := bw.Write(k, sets[i]); err != nil {
					return bw.Records(), err
				}
			}
			if progress != nil {
				progress(BackupProgress{Partition: int(p), Partitions: q, Keys: bw.Records(), Bytes: bw.Bytes()})
			}
			if done {
				break
			}
			after = next
		}
	}
	return bw.Records(), bw.Close()
}

// importBatch bounds one ReplicaMergeRequest of an import.
const (
	importBatchKeys  = 256
	importBatchBytes = 4 << 20
)

// Import merges an export (Export's format, package backup) into the
// cluster and returns how many keys it merged. It reads r whole first
// and writes nothing unless every record, count and checksum is sound
// (the error then names the byte offset of the first problem, and
// matches backup.ErrFormat); it then reads it again from the start, so r
// must not change meanwhile: if it does, the import stops at the first
// problem it meets, after merging what came before it. Each
// key's set is merged into every up primary of its partition (in the
// cluster's ring, whatever the export's), with the same causal merge as
// replication (REPLICA_PUT_KIND_IMPORT): a version newer than the backup
// stays, a sibling is never lost, a delete in the backup hides only the
// versions it covered. A batch that no primary takes fails the import;
// what was merged before stays (merges are idempotent: run it again).
func (c *Client) Import(ctx context.Context, r io.ReadSeeker, progress func(BackupProgress)) (uint64, error) {
	if c.isClosed() {
		return 0, ErrClosed
	}
	if _, _, err := backup.Verify(r); err != nil {
		return 0, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	rd, err := backup.NewReader(r)
	if err != nil {
		return 0, err
	}
	v := c.view.Load()
	q := v.m.Partitions
	type batch struct {
		items []*messages.KeySet
		index map[string]int // key -> position in items (a key twice in a file merges)
		bytes int
	}
	batches := map[uint32]*batch{}
	var merged uint64
	flush := func(p uint32) error {
		b := batches[p]
		if b == nil || len(b.items) == 0 {
			return nil
		}
		req := &messages.ReplicaMergeRequest{Partition: p, Items: b.items, Kind: messages.ReplicaPutKind_REPLICA_PUT_KIND_IMPORT}
		err := c.askOwners(ctx, c.view.Load(), p, req, false, func(env *messages.Envelope, addr string) error {
			mr := env.GetReplicaMergeReply()
			if mr == nil {
				return errors.New("the reply is not a merge")
			}
			if e := mr.GetError(); e != nil {
				return fromWire("import", addr, e)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("importing %d keys of partition %d (the file up to byte %d): %w", len(b.items), p, rd.Offset(), err)
		}
		merged += uint64(len(b.items))
		if progress != nil {
			progress(BackupProgress{Partitions: q, Keys: merged, Bytes: rd.Offset()})
		}
		delete(batches, p)
		return nil
	}
	last := uint32(0)
	for {
		key, set, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return merged, err // the file changed since it was verified
		}
		p := ring.PartitionOf(ring.HashKey(key), q)
		if p != last {
			// An export is in partition order: what is left of the last
			// partition's batch goes now, so that memory holds one batch.
			if err := flush(last); err != nil {
				return merged, err
			}
			last = p
		}
		b := batches[p]
		if b == nil {
			b = &batch{index: map[string]int{}}
			batches[p] = b
		}
		if i, dup := b.index[string(key)]; dup {
			prev, err := version.FromProto(b.items[i].GetSet())
			if err != nil {
				return merged, err
			}
			b.items[i].Set = version.ToProto(version.Sync(prev, set))
			continue
		}
		ks := &messages.KeySet{Key: key, Set: version.ToProto(set)}
		b.index[string(key)] = len(b.items)
		b.items = append(b.items, ks)
		b.bytes += proto.Size(ks)
		if len(b.items) >= importBatchKeys || b.bytes >= importBatchBytes {
			if err := flush(p); err != nil {
				return merged, err
			}
		}
	}
	for p := range batches {
		if err := flush(p); err != nil {
			return merged, err
		}
	}
	return merged, nil
}
