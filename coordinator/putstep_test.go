package coordinator

import (
	"errors"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/quorum"
	"github.com/dynamokv/dynamo/version"
)

// putFixture is a 3-node sim's route for key "k", its owners, the version
// its first owner would prepare and that version's dot, and a function
// that starts a write at the first owner with the given options.
func putFixture(t *testing.T) (owners []string, set *version.Set, dot version.Dot, newPut func(PutOptions) *Put) {
	t.Helper()
	s := newSim(t, 3)
	route := s.route("k")
	owners = s.ring.Owners(route.Partition)
	set, err := version.Update(nil, version.Context{}, version.Write{Value: []byte("v"), Timestamp: 1}, owners[0]+"@1", 1)
	if err != nil {
		t.Fatal(err)
	}
	newPut = func(o PutOptions) *Put {
		t.Helper()
		p, _, err := NewPut(route, owners[0], []byte("k"), o)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	return owners, set, set.Siblings()[0].Dot, newPut
}

// Step runs a write as the shell sees it: the replica writes when the
// version is prepared, one answer, Done once every replica is heard, and
// a request to forget a version stored nowhere, once.
func TestPutStep(t *testing.T) {
	owners, set, dot, newPut := putFixture(t)
	start := func(w int) *Put { return newPut(PutOptions{W: w}) }

	// Success at W=2.
	p := start(2)
	r := p.Step(PutPrepared{Set: set, Dot: dot})
	if len(r.Replicate) != 2 || r.Answer != nil || r.Done || r.Forget {
		t.Fatalf("prepared: %+v", r)
	}
	if r := p.Step(PutCoordinated{}); r.Answer != nil || r.Done {
		t.Fatalf("local commit alone at W=2: %+v", r)
	}
	r = p.Step(PutReplied{Node: owners[1]})
	if r.Answer == nil || r.Answer.Err != nil || len(r.Answer.Context) == 0 || r.Done {
		t.Fatalf("second ack: %+v", r)
	}
	if r := p.Step(PutReplied{Node: owners[2]}); r.Answer != nil || !r.Done || r.Forget {
		t.Fatalf("last ack: %+v", r)
	}

	// The local commit fails and every other replica refuses: stored
	// nowhere, forgotten once.
	p = start(2)
	p.Step(PutPrepared{Set: set, Dot: dot})
	boom := errors.New("storage: disk full")
	if r := p.Step(PutCoordinated{Err: boom}); r.Answer == nil || !errors.Is(r.Answer.Err, boom) || r.Done {
		t.Fatalf("failed commit: %+v", r)
	}
	p.Step(PutReplied{Node: owners[1], Err: boom})
	r = p.Step(PutReplied{Node: owners[2], Err: boom})
	if !r.Done || !r.Forget || r.Dot != dot || r.Answer != nil {
		t.Fatalf("stored nowhere: %+v", r)
	}

	// The deadline ends a write that never got its version: answered, done.
	p = start(2)
	r = p.Step(PutDeadline{})
	if r.Answer == nil || r.Answer.Err == nil || !r.Done || len(r.Replicate) != 0 || len(r.TimedOut) != 0 {
		t.Fatalf("deadline before the version: %+v", r)
	}

	// The local vnode fails before it computed a version: nothing was
	// sent, so the write is answered and done at once.
	p = start(2)
	if r := p.Step(PutCoordinated{Err: boom}); r.Answer == nil || !errors.Is(r.Answer.Err, boom) || !r.Done || r.Forget {
		t.Fatalf("failure before the version: %+v", r)
	}
	if r := p.Step(PutDeadline{}); r.Answer != nil || len(r.TimedOut) != 0 || !r.Done {
		t.Fatalf("deadline after the write ended: %+v", r)
	}

	// At the deadline the targets that never replied are TimedOut, once.
	p = start(1)
	p.Step(PutPrepared{Set: set, Dot: dot})
	if r := p.Step(PutCoordinated{}); r.Answer == nil || r.Answer.Err != nil || r.Done {
		t.Fatalf("local ack at W=1: %+v", r)
	}
	p.Step(PutReplied{Node: owners[2]})
	r = p.Step(PutDeadline{})
	if !r.Done || r.Answer != nil || len(r.TimedOut) != 1 || r.TimedOut[0] != owners[1] {
		t.Fatalf("deadline with %s silent: %+v", owners[1], r)
	}
	if r := p.Step(PutDeadline{}); len(r.TimedOut) != 0 || !r.Done {
		t.Fatalf("second deadline: %+v", r)
	}
}

// With DurableOne the primaries' replica writes are buffered, and the
// write is answered only once the coordinator's own fsynced write
// succeeded: W buffered acks alone are no answer.
func TestPutDurableOne(t *testing.T) {
	owners, set, dot, newPut := putFixture(t)
	start := func(d Durability) *Put { return newPut(PutOptions{W: 2, Durability: d}) }
	p := start(DurableOne)
	r := p.Step(PutPrepared{Set: set, Dot: dot})
	if len(r.Replicate) != 2 || !r.Replicate[0].Buffered || !r.Replicate[1].Buffered {
		t.Fatalf("replica writes %+v, want both buffered", r.Replicate)
	}
	p.Step(PutReplied{Node: owners[1]})
	if r := p.Step(PutReplied{Node: owners[2]}); r.Answer != nil {
		t.Fatalf("answered on buffered acks alone: %+v", r.Answer)
	}
	if r := p.Step(PutCoordinated{}); r.Answer == nil || r.Answer.Err != nil || !r.Done {
		t.Fatalf("after the coordinator's own write: %+v", r)
	}

	// The coordinator's write never comes: not durable, whatever the acks.
	p = start(DurableOne)
	p.Step(PutPrepared{Set: set, Dot: dot})
	p.Step(PutReplied{Node: owners[1]})
	p.Step(PutReplied{Node: owners[2]})
	r = p.Step(PutDeadline{})
	var qe *quorum.Error
	if r.Answer == nil || !errors.As(r.Answer.Err, &qe) || qe.Kind != quorum.KindDurable || !r.Done ||
		r.Answer.Err.Error() != "write durable quorum: 0 of 1 durable replicas acked (3 asked: 1 timed out)" {
		t.Fatalf("deadline without the coordinator's write: %+v", r.Answer)
	}

	// DurableAll: nothing buffered, W acks answer.
	p = start(DurableAll)
	if r := p.Step(PutPrepared{Set: set, Dot: dot}); r.Replicate[0].Buffered || r.Replicate[1].Buffered {
		t.Fatalf("DurableAll buffered %+v", r.Replicate)
	}
	p.Step(PutReplied{Node: owners[1]})
	if r := p.Step(PutReplied{Node: owners[2]}); r.Answer == nil || r.Answer.Err != nil {
		t.Fatalf("DurableAll on two acks: %+v", r.Answer)
	}

	if d, err := ParseDurability("one"); err != nil || d != DurableOne || d.String() != "one" {
		t.Fatalf("ParseDurability(one) = %v, %v", d, err)
	}
	if _, err := ParseDurability("some"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"some"`) {
		t.Fatalf("ParseDurability(some) = %v", err)
	}
}
