package actors

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/version"
)

// A put coordinator answers with the prepared version's context whichever
// of its local vnode's two messages it handles first: the reply to its
// request (a continuation, a system message, may overtake writePrepared in
// its mailbox) or writePrepared. A fake vnode answers in both orders.
func TestPutCoordinatorTakesTheVnodesMessagesInEitherOrder(t *testing.T) {
	s := startSystem(t)
	r, err := ring.New(ring.Config{Partitions: 8, N: 1}, []ring.Member{{Name: "solo", Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	view := &View{Self: "solo", Ring: r, Addrs: map[string]string{"solo": s.Address()}, Epoch: 1}
	key := keyOf(3, 8)
	set, err := version.Update(nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: 1}, "solo@1", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, replyFirst := range []bool{false, true} {
		fake, err := s.Root().SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
			m, ok := ctx.Message().(*coordinateWrite)
			if !ok {
				return
			}
			prepared := &writePrepared{nonce: m.env.GetRequestId(), set: set, dot: set.Siblings()[0].Dot}
			reply := messages.Wrap(m.env.GetRequestId(), &messages.ReplicaCoordinateReply{Partition: 3, Node: "solo"})
			if replyFirst {
				// Completing the future queues the continuation, a system
				// message, before writePrepared is even sent.
				ctx.Respond(reply)
				ctx.Send(m.replyTo, prepared)
				return
			}
			ctx.Send(m.replyTo, prepared)
			ctx.Respond(reply)
		}), remoting.VnodeName(3))
		if err != nil {
			t.Fatal(err)
		}
		req := plan{id: 7, nonce: 99, view: view, quorum: 1, timeout: 2 * time.Second, pids: &pidCache{}, start: time.Now()}
		f := actor.NewFuture(s.Actors, 3*time.Second)
		req.client = f.PID()
		s.Root().SpawnPrefix(putProps(req, nil, key, []byte("v"), false, nil, 0), "put")
		res, err := f.Result()
		if err != nil {
			t.Fatalf("reply first %v: no answer: %v", replyFirst, err)
		}
		put := res.(*messages.Envelope).GetPutReply()
		if put == nil || put.GetError() != nil || string(put.GetContext()) != string(version.EncodeContext(set.Context())) {
			t.Fatalf("reply first %v: answer %v, want the prepared version's context", replyFirst, res)
		}
		if err := s.Root().StopFuture(fake).Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// A local commit that fails after the version was prepared answers the
// error whichever of the vnode's two messages comes first, and, the
// version being stored nowhere (one replica), tells the vnode to forget it.
func TestPutCoordinatorForgetsAVersionStoredNowhere(t *testing.T) {
	s := startSystem(t)
	r, err := ring.New(ring.Config{Partitions: 8, N: 1}, []ring.Member{{Name: "solo", Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	view := &View{Self: "solo", Ring: r, Addrs: map[string]string{"solo": s.Address()}, Epoch: 1}
	key := keyOf(3, 8)
	set, err := version.Update(nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: 1}, "solo@1", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, replyFirst := range []bool{false, true} {
		forgot := make(chan version.Dot, 1)
		fake, err := s.Root().SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
			switch m := ctx.Message().(type) {
			case *forgetPrepared:
				forgot <- m.dot
			case *coordinateWrite:
				prepared := &writePrepared{nonce: m.env.GetRequestId(), set: set, dot: set.Siblings()[0].Dot}
				reply := messages.Wrap(m.env.GetRequestId(), &messages.ReplicaCoordinateReply{Partition: 3, Node: "solo", Prepared: true,
					Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_STORAGE, Message: "no space left on device"}})
				if replyFirst {
					ctx.Respond(reply)
					ctx.Send(m.replyTo, prepared)
					return
				}
				ctx.Send(m.replyTo, prepared)
				ctx.Respond(reply)
			}
		}), remoting.VnodeName(3))
		if err != nil {
			t.Fatal(err)
		}
		req := plan{id: 7, nonce: 99, view: view, quorum: 1, timeout: 2 * time.Second, pids: &pidCache{}, start: time.Now()}
		f := actor.NewFuture(s.Actors, 3*time.Second)
		req.client = f.PID()
		s.Root().SpawnPrefix(putProps(req, nil, key, []byte("v"), false, nil, 0), "put")
		res, err := f.Result()
		if err != nil {
			t.Fatalf("reply first %v: no answer: %v", replyFirst, err)
		}
		if put := res.(*messages.Envelope).GetPutReply(); put.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_STORAGE {
			t.Fatalf("reply first %v: answer %v, want the storage error", replyFirst, res)
		}
		select {
		case d := <-forgot:
			if d != set.Siblings()[0].Dot {
				t.Fatalf("reply first %v: forget %v", replyFirst, d)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("reply first %v: the vnode was not told to forget the version stored nowhere", replyFirst)
		}
		if err := s.Root().StopFuture(fake).Wait(); err != nil {
			t.Fatal(err)
		}
	}
}
