package actors

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/request"
)

// Storage fault injection, for nodes started with --allow-fault-injection
// (`dynamo debug disk`, `dynamo debug corrupt`, the chaos harness):
//
//   - "disk": the node's storage engine fails every write with EIO for a
//     while, each failing write returning after a delay, so that a
//     coordinator's replicas ack a write before its own commit fails. The
//     node carries it out (its engine is wrapped only when fault injection
//     is on): the router reaches it through RouterConfig.Admin when that
//     implements DiskFaulter.
//   - "corrupt": stored objects overwritten with garbage under a running
//     vnode. It goes through the vnode (a corruptObjects message), so that
//     its object cache forgets them; the request is answered as soon as it
//     is sent, and the vnode logs what it corrupted.

// DiskFaulter is implemented by a node that can fail its storage writes on
// request (node.Node with AllowFaultInjection).
type DiskFaulter interface {
	// FailDiskWrites fails every storage write with EIO for d (0 ends the
	// fault), each failing write returning after a delay drawn from
	// [minDelay, maxDelay].
	FailDiskWrites(d, minDelay, maxDelay time.Duration) error
}

// storageFault carries out a FaultRequest of the component "disk" or
// "corrupt"; handled is false for the other components.
func (r *router) storageFault(ctx actor.Context, f *messages.FaultRequest) (e *messages.Error, handled bool) {
	switch remoting.Component(f.GetComponent()) {
	case remoting.ComponentDisk:
		d, ok := r.cfg.Admin.(DiskFaulter)
		if !ok {
			return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Field: "component",
				Message: "this node cannot inject storage faults (only a node's own engine can, with --allow-fault-injection)"}, true
		}
		lo := time.Duration(f.GetWriteDelayMinMs()) * time.Millisecond
		hi := time.Duration(f.GetWriteDelayMaxMs()) * time.Millisecond
		if hi < lo {
			return invalid("write_delay_max_ms", fmt.Sprintf("the largest delay (%v) is below the smallest (%v)", hi, lo)), true
		}
		if err := d.FailDiskWrites(time.Duration(f.GetFailWritesMs())*time.Millisecond, lo, hi); err != nil {
			return invalid("fail_writes_ms", err.Error()), true
		}
		return nil, true
	case remoting.ComponentCorrupt:
		if r.view == nil {
			return unavailable("node is starting: no membership view yet"), true
		}
		p, keys := f.GetPartition(), 0
		if len(f.GetKey()) > 0 {
			if e := r.check(request.Request{Op: request.OpGet, Key: f.GetKey()}); e != nil {
				return e, true
			}
			p = r.view.Ring.Partition(f.GetKey())
		} else {
			keys = int(f.GetKeys())
			if keys <= 0 || keys > remoting.MaxCorruptKeys {
				return invalid("keys", fmt.Sprintf("without a key, corrupt 1 to %d random keys of the partition, got %d", remoting.MaxCorruptKeys, keys)), true
			}
		}
		ps, _ := r.view.Ring.PartitionsOf(r.cfg.Self)
		if !slices.Contains(ps, p) {
			return invalid("partition", fmt.Sprintf("this node holds no vnode of partition %d", p)), true
		}
		m := &corruptObjects{random: keys, log: r.cfg.Logger}
		if len(f.GetKey()) > 0 {
			m.keys = [][]byte{slices.Clone(f.GetKey())}
		}
		ctx.Send(vnodePID(ctx.Self().Address, p), m)
		return nil, true
	}
	return nil, false
}

// corruptObjects asks a vnode to overwrite the stored bytes of keys, or of
// random stored keys, with garbage (vnode.Store.Corrupt).
type corruptObjects struct {
	keys   [][]byte
	random int // keys drawn at random when keys is empty
	log    *slog.Logger
}

// corrupt carries out a corruptObjects request (the vnode actor's hook).
func (v *vnodeActor) corrupt(m *corruptObjects) {
	if v.store == nil || v.dropped {
		m.log.Warn("fault injection: corrupt refused: the vnode holds no data", "partition", v.cfg.Partition)
		return
	}
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	keys := m.keys
	if len(keys) == 0 {
		var err error
		if keys, err = v.store.SampleKeys(m.random, rng); err != nil {
			m.log.Warn("fault injection: corrupt: listing keys failed", "partition", v.cfg.Partition, "err", err)
			return
		}
	}
	done, err := v.store.Corrupt(keys, rng)
	if err != nil {
		m.log.Warn("fault injection: corrupting stored objects failed", "partition", v.cfg.Partition, "err", err)
		return
	}
	names := make([]string, 0, min(len(done), 10))
	for _, k := range done[:min(len(done), 10)] {
		names = append(names, fmt.Sprintf("%q", k))
	}
	m.log.Warn("fault injection: stored objects corrupted", "partition", v.cfg.Partition, "count", len(done), "keys", strings.Join(names, " "))
}
