package status

import (
	"errors"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/version"
)

func TestInspect(t *testing.T) {
	now := time.Unix(1_800_000_000, 0).UnixNano()
	a, _ := version.Update(nil, version.Context{}, version.Write{Value: []byte("v1"), Timestamp: now - int64(time.Hour)}, "n1@01", 1)
	b, err := version.Update(a, version.Context{}, version.Write{Value: []byte("v2"), Timestamp: now - int64(time.Hour), TTLNs: int64(time.Minute)}, "n2@02", 1)
	if err != nil || a == nil {
		t.Fatal(err)
	}
	same := []ReplicaRead{{Node: "n1", State: "up", Found: true, Set: b}, {Node: "n2", State: "up", Found: true, Set: b}}
	in := Inspect([]byte("k"), 7, same, now)
	if !in.Agree || in.Key != "k" || in.Partition != 7 || len(in.Replicas) != 2 {
		t.Fatalf("two equal copies: %+v", in)
	}
	r := in.Replicas[0]
	if r.Digest == "" || len(r.Clock) != 2 || len(r.Siblings) != 2 {
		t.Fatalf("replica view %+v", r)
	}
	var live, expired int
	for _, s := range r.Siblings {
		if s.Live {
			live++
		}
		if s.Expires != "" && !s.Live {
			expired++
		}
	}
	if live != 1 || expired != 1 || r.Siblings[0].Written == "" {
		t.Fatalf("siblings %+v: want one live, one expired", r.Siblings)
	}
	if in := Inspect([]byte("k"), 7, append(same, ReplicaRead{Node: "n3", State: "up", Found: true, Set: a}), now); in.Agree {
		t.Fatal("a different copy agrees")
	}
	if in := Inspect([]byte("k"), 7, append(same, ReplicaRead{Node: "n3", State: "down", Err: errors.New("no answer")}), now); in.Agree || in.Replicas[2].Error == "" {
		t.Fatalf("an owner that did not answer: %+v", in)
	}
	if in := Inspect([]byte{0xff}, 1, []ReplicaRead{{Node: "n1"}, {Node: "n2"}}, now); !in.Agree || in.Key != "" || in.KeyBase64 != "/w==" {
		t.Fatalf("absent everywhere, a binary key: %+v", in)
	}
	if in := Inspect([]byte("k"), 1, []ReplicaRead{{Node: "n1"}, {Node: "n2", Found: true, Set: a}}, now); in.Agree {
		t.Fatal("absent on one owner agrees")
	}
}
