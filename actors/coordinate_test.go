package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/storage"
	"github.com/dynamokv/dynamo/version"
)

// soloPut is a one-node ring with partition 3's vnode left for the test
// to spawn (at remoting.VnodeName(3)), the version such a vnode would
// prepare for key keyOf(3, 8), and a function that spawns a put coordinator
// for that key at W=1 and returns the future of its answer.
func soloPut(t *testing.T) (*remoting.System, *version.Set, func() *actor.Future) {
	t.Helper()
	s := startSystem(t)
	r, err := ring.New(ring.Config{Partitions: 8, N: 1}, []ring.Member{{Name: "solo", Weight: 1}})
	if err != nil {
		t.Fatal(err)
	}
	view := &View{Self: "solo", Ring: r, Addrs: map[string]string{"solo": s.Address()}, Epoch: 1}
	set, err := version.Update(nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: 1}, "solo@1", 1)
	if err != nil {
		t.Fatal(err)
	}
	return s, set, func() *actor.Future {
		req := plan{id: 7, nonce: 99, view: view, quorum: 1, timeout: 2 * time.Second, pids: &pidCache{}, start: time.Now()}
		f := actor.NewFuture(s.Actors, 3*time.Second)
		req.client = f.PID()
		s.Root().SpawnPrefix(putProps(req, nil, putArgs{key: keyOf(3, 8), value: []byte("v")}), "put")
		return f
	}
}

// A put coordinator answers with the prepared version's context once its
// local vnode has said, on one channel and in order, the version it
// prepared (writePrepared) and that it is durable (writeDone); it answers
// nothing before writeDone, and a vnode that is not there is UNAVAILABLE at
// once, not at the deadline.
func TestPutCoordinatorFollowsItsVnodesChannel(t *testing.T) {
	s, set, spawnPut := soloPut(t)

	// No vnode: UNAVAILABLE well before the 2 s deadline.
	began := time.Now()
	res, err := spawnPut().Result()
	if err != nil {
		t.Fatalf("no vnode: no answer: %v", err)
	}
	if put := res.(*messages.Envelope).GetPutReply(); put.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE || time.Since(began) > time.Second {
		t.Fatalf("no vnode: answer %v after %v, want UNAVAILABLE at once", res, time.Since(began))
	}

	release := make(chan struct{})
	fake, err := remoting.SpawnNamed(s.Root(), actor.PropsFromFunc(func(ctx actor.Context) {
		m, ok := ctx.Message().(*coordinateWrite)
		if !ok {
			return
		}
		if m.nonce != 99 || string(m.key) != string(keyOf(3, 8)) || string(m.value) != "v" || m.tombstone {
			t.Errorf("coordinateWrite %+v", m)
		}
		ctx.Send(m.replyTo, &writePrepared{nonce: m.nonce, set: set, dot: set.Siblings()[0].Dot})
		<-release // the version is not durable yet
		ctx.Send(m.replyTo, &writeDone{nonce: m.nonce, prepared: true})
	}), remoting.VnodeName(3))
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		res any
		err error
	}
	answered := make(chan outcome, 1)
	go func(f *actor.Future) {
		res, err := f.Result()
		answered <- outcome{res, err}
	}(spawnPut())
	select {
	case <-time.After(200 * time.Millisecond):
	case o := <-answered:
		t.Fatalf("the coordinator answered %v before its vnode's write was durable", o.res)
	}
	close(release)
	o := <-answered
	if o.err != nil {
		t.Fatalf("no answer: %v", o.err)
	}
	res = o.res
	put := res.(*messages.Envelope).GetPutReply()
	if put == nil || put.GetError() != nil || string(put.GetContext()) != string(version.EncodeContext(set.Context())) {
		t.Fatalf("answer %v, want the prepared version's context", res)
	}
	if err := s.Root().StopFuture(fake).Wait(); err != nil {
		t.Fatal(err)
	}
}

// A local commit that fails after the version was prepared answers the
// error and, the version being stored nowhere (one replica), tells the
// vnode to forget it.
func TestPutCoordinatorForgetsAVersionStoredNowhere(t *testing.T) {
	s, set, spawnPut := soloPut(t)
	// Its commit failed after the version was prepared: forgotten. Its
	// prepare failed: there is nothing to forget.
	for _, prepared := range []bool{true, false} {
		forgot := make(chan version.Dot, 1)
		fake, err := remoting.SpawnNamed(s.Root(), actor.PropsFromFunc(func(ctx actor.Context) {
			switch m := ctx.Message().(type) {
			case *forgetPrepared:
				forgot <- m.dot
			case *coordinateWrite:
				if prepared {
					ctx.Send(m.replyTo, &writePrepared{nonce: m.nonce, set: set, dot: set.Siblings()[0].Dot})
				}
				ctx.Send(m.replyTo, &writeDone{nonce: m.nonce, prepared: prepared, err: fmt.Errorf("vnode 3: %w", storage.ErrNoSpace)})
			}
		}), remoting.VnodeName(3))
		if err != nil {
			t.Fatal(err)
		}
		res, err := spawnPut().Result()
		if err != nil {
			t.Fatalf("prepared %v: no answer: %v", prepared, err)
		}
		if put := res.(*messages.Envelope).GetPutReply(); put.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_STORAGE {
			t.Fatalf("prepared %v: answer %v, want the storage error", prepared, res)
		}
		select {
		case d := <-forgot:
			if !prepared || d != set.Siblings()[0].Dot {
				t.Fatalf("prepared %v: forget %v", prepared, d)
			}
		case <-time.After(500 * time.Millisecond):
			if prepared {
				t.Fatalf("the vnode was not told to forget the version stored nowhere")
			}
		}
		if err := s.Root().StopFuture(fake).Wait(); err != nil {
			t.Fatal(err)
		}
	}
}
