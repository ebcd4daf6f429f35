package actors

import (
	"runtime"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// mailboxThroughput is how many messages an actor handles before its
// mailbox yields its goroutine (protoactor's default).
const mailboxThroughput = 300

// pooled is the dispatcher of the request path's actors (router,
// coordinators, vnodes, hint dispatchers). protoactor's default starts a new
// goroutine each time a mailbox gets work; a vnode's call chain (protobuf,
// goleveldb, MD5) then grows that goroutine's stack from 8 KiB, copying it
// two or three times, and the copies were a tenth of a node's CPU under
// load. pooled runs mailboxes on long-lived workers whose stacks have
// already grown, and on a new goroutine when every worker is busy (a vnode
// waiting on fsync holds one), so it never delays a mailbox.
var pooled actor.Dispatcher = &workerPool{}

type workerPool struct {
	once sync.Once
	work chan func()
}

func (p *workerPool) start() {
	p.work = make(chan func())
	for range max(64, 16*runtime.GOMAXPROCS(0)) {
		go func() {
			for fn := range p.work {
				fn()
			}
		}()
	}
}

// Schedule runs fn on an idle worker, or on a new goroutine.
func (p *workerPool) Schedule(fn func()) {
	p.once.Do(p.start)
	select {
	case p.work <- fn:
	default:
		go fn()
	}
}

func (p *workerPool) Throughput() int { return mailboxThroughput }
