package coordinator

import "github.com/dynamokv/dynamo/version"

// PutEvent is something a write's coordinator learns: PutPrepared,
// PutCoordinated, PutReplied or PutDeadline.
type PutEvent interface{ putEvent() }

// PutPrepared: the local vnode computed the new version.
type PutPrepared struct {
	Set *version.Set
	Dot version.Dot
}

// PutCoordinated: the local vnode's own write ended; Err is nil once the
// version is durable there.
type PutCoordinated struct{ Err error }

// PutReplied: a replica acked (Err nil) or failed.
type PutReplied struct {
	Node string
	Err  error
}

// PutDeadline: the request's deadline passed.
type PutDeadline struct{}

func (PutPrepared) putEvent()    {}
func (PutCoordinated) putEvent() {}
func (PutReplied) putEvent()     {}
func (PutDeadline) putEvent()    {}

// PutReady is what the shell carries out after a Step, in this order:
// send Replicate (replica writes, and the hints it keeps itself), answer
// the client with Answer when set (once in a write's life), count TimedOut
// as the targets that never replied (at the deadline), tell the local vnode
// to forget the prepared version when Forget is set (it was stored nowhere:
// vnode.Store.Forget of Dot), and stop when Done.
type PutReady struct {
	Replicate []Replicate
	Answer    *PutAnswer
	TimedOut  []string
	Forget    bool
	Dot       version.Dot
	Done      bool
}
