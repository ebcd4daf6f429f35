package coordinator

import "github.com/dynamokv/dynamo/version"

// PutEvent is something a write's coordinator learns: PutPrepared,
// PutCoordinated, PutReplied or PutDeadline.
type PutEvent interface{ putEvent() }

// PutPrepared: the local vnode computed the new version (Prepared).
type PutPrepared struct {
	Set *version.Set
	Dot version.Dot
}

// PutCoordinated: the local vnode's own write ended (Coordinated); Err is
// nil once the version is durable there.
type PutCoordinated struct{ Err error }

// PutReplied: a replica acked (Err nil) or failed (Reply).
type PutReplied struct {
	Node string
	Err  error
}

// PutDeadline: the request's deadline passed (Deadline).
type PutDeadline struct{}

func (PutPrepared) putEvent()    {}
func (PutCoordinated) putEvent() {}
func (PutReplied) putEvent()     {}
func (PutDeadline) putEvent()    {}

// PutReady is what the shell carries out after a Step, in this order:
// send Replicate (replica writes, and the hints it keeps itself), answer
// the client with Answer when set (once in a write's life), tell the local
// vnode to forget the prepared version when Forget is set (it was stored
// nowhere: vnode.Store.Forget of Dot), and stop when Done.
type PutReady struct {
	Replicate []Replicate
	Answer    *PutAnswer
	Forget    bool
	Dot       version.Dot
	Done      bool
}

// Step feeds one event and returns what to do. After PutDeadline the write
// is Done whatever else happened.
func (p *Put) Step(ev PutEvent) PutReady {
	var r PutReady
	switch e := ev.(type) {
	case PutPrepared:
		r.Replicate = p.Prepared(e.Set, e.Dot)
	case PutCoordinated:
		r.Answer = p.Coordinated(e.Err)
	case PutReplied:
		r.Answer, r.Replicate = p.Reply(e.Node, e.Err)
	case PutDeadline:
		r.Answer, r.Replicate = p.Deadline()
		p.expired = true
	}
	if p.Done() || p.expired {
		r.Done = true
		if !p.forgot && p.Done() && p.Unreplicated() {
			p.forgot = true
			r.Forget, r.Dot = true, p.dot
		}
	}
	return r
}
