package remoting

import (
	"runtime"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// mailboxThroughput is how many messages an actor handles before its
// mailbox yields its goroutine (protoactor's default).
const mailboxThroughput = 300

// WorkerPool is a dispatcher for the request path's actors (router,
// coordinators, vnodes, hint dispatcher). protoactor's default starts a new
// goroutine each time a mailbox gets work; a vnode's call chain (protobuf,
// goleveldb, MD5) then grows that goroutine's stack from 8 KiB, copying it
// two or three times, and the copies were a tenth of a node's CPU under
// load. The pool runs mailboxes on long-lived workers whose stacks have
// already grown, and on a new goroutine when every worker is busy (a vnode
// waiting on fsync holds one), so it never delays a mailbox.
//
// A System owns one (System.Pool): its workers start with the first
// mailbox run and stop when the System stops, which waits for them. After
// Stop, mailbox runs still happen, each on a goroutine of its own.
type WorkerPool struct {
	once    sync.Once
	work    chan func()
	stopped chan struct{}
	stop    sync.Once
	wg      sync.WaitGroup
}

// NewWorkerPool returns a pool whose workers start at its first Schedule.
func NewWorkerPool() *WorkerPool { return &WorkerPool{stopped: make(chan struct{})} }

func (p *WorkerPool) start() {
	p.work = make(chan func())
	n := max(64, 16*runtime.GOMAXPROCS(0))
	p.wg.Add(n)
	for range n {
		go func() {
			defer p.wg.Done()
			for {
				select {
				case fn := <-p.work:
					fn()
				case <-p.stopped:
					return
				}
			}
		}()
	}
}

// Schedule runs fn on an idle worker, or on a new goroutine.
func (p *WorkerPool) Schedule(fn func()) {
	p.once.Do(p.start)
	select {
	case p.work <- fn:
	default:
		go fn()
	}
}

// Throughput is protoactor's mailbox batch size.
func (p *WorkerPool) Throughput() int { return mailboxThroughput }

// Stop ends the workers once they finish what they run, and waits for
// them. It may be called more than once.
func (p *WorkerPool) Stop() {
	p.stop.Do(func() {
		close(p.stopped)
		p.once.Do(func() {}) // never started: nothing to wait for
		p.wg.Wait()
	})
}

var _ actor.Dispatcher = (*WorkerPool)(nil)
