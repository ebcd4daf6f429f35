package node

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/storage"
)

// Storage fault injection (`dynamo debug disk`): a node started with
// AllowFaultInjection runs its actors over its engine wrapped in a
// storage.Faulty whose injector is a diskFaults; without it the actors get
// the engine itself and nothing here costs anything.

// diskFaults fails every engine write with EIO until a deadline, each
// failing write returning its error after a delay drawn from [minDelay,
// maxDelay]: a coordinator's replicas ack before its own write fails, the
// way a disk that hangs and then errors behaves. Reads and iterations are
// never faulted. Safe for concurrent use.
type diskFaults struct {
	until    atomic.Int64 // UnixNano before which writes fail; 0: off
	minDelay atomic.Int64 // ns
	maxDelay atomic.Int64 // ns
	failed   atomic.Uint64
}

// errDiskFault is what a failing write returns (wrapped by storage.Faulty).
var errDiskFault = fmt.Errorf("disk fault injected (dynamo debug disk): %w", syscall.EIO)

// MaybeError implements storage.Injector.
func (d *diskFaults) MaybeError(op storage.Op, _ storage.Keyspace) error {
	if op != storage.OpWrite {
		return nil
	}
	until := d.until.Load()
	if until == 0 || time.Now().UnixNano() >= until {
		return nil
	}
	lo, hi := d.minDelay.Load(), d.maxDelay.Load()
	delay := lo
	if hi > lo {
		delay += rand.Int64N(hi - lo + 1)
	}
	if delay > 0 {
		time.Sleep(time.Duration(delay))
	}
	d.failed.Add(1)
	return errDiskFault
}

// set starts (length > 0) or ends (length 0) the fault.
func (d *diskFaults) set(length, minDelay, maxDelay time.Duration) {
	d.minDelay.Store(int64(minDelay))
	d.maxDelay.Store(int64(maxDelay))
	if length <= 0 {
		d.until.Store(0)
		return
	}
	d.until.Store(time.Now().Add(length).UnixNano())
}

// FailDiskWrites makes this node's storage engine fail every write with
// EIO for the next d (0 ends a fault at once), each failing write
// returning its error after a delay drawn from [minDelay, maxDelay]. It
// needs AllowFaultInjection (the engine is wrapped only then). The
// router calls it for a FaultRequest of the component "disk"
// (actors.DiskFaulter).
func (n *Node) FailDiskWrites(d, minDelay, maxDelay time.Duration) error {
	if n.disk == nil {
		return errors.New("storage fault injection is off on this node (start it with --allow-fault-injection)")
	}
	switch {
	case d < 0 || d > remoting.MaxDiskFault:
		return fmt.Errorf("a disk fault lasts 0 to %v, got %v", remoting.MaxDiskFault, d)
	case minDelay < 0 || maxDelay < minDelay || maxDelay > remoting.MaxDiskFaultDelay:
		return fmt.Errorf("a failing write's delay must satisfy 0 <= min <= max <= %v, got %v and %v", remoting.MaxDiskFaultDelay, minDelay, maxDelay)
	}
	n.disk.set(d, minDelay, maxDelay)
	if d > 0 {
		n.log.Warn("fault injection: storage writes fail with EIO", "for", d, "delay_min", minDelay, "delay_max", maxDelay)
	} else {
		n.log.Warn("fault injection: storage writes succeed again", "writes_failed", n.disk.failed.Load())
	}
	return nil
}

// actorEngine is the engine the node's actors use: the engine itself, or,
// with AllowFaultInjection, the engine under the disk fault injector.
func (n *Node) actorEngine() storage.Engine {
	if !n.cfg.AllowFaultInjection {
		return n.engine
	}
	if n.disk == nil {
		n.disk = &diskFaults{}
	}
	return storage.NewFaulty(n.engine, n.disk)
}
