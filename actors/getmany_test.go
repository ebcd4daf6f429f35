package actors

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/request"
)

func (c *testCluster) getMany(via int, r uint32, keys ...string) *messages.GetManyReply {
	c.nextID++
	var ks [][]byte
	for _, k := range keys {
		ks = append(ks, []byte(k))
	}
	return c.send(via, messages.Wrap(c.nextID, &messages.GetManyRequest{Keys: ks, R: r})).GetGetManyReply()
}

// A node reads every key of a GetManyRequest as a Get would and answers
// them in order in one reply: found, absent, siblings; a key refused on
// its own (empty) is answered in its place; too many keys refuse the
// request.
func TestClusterGetMany(t *testing.T) {
	c := newTestCluster(t, 3)
	for i := range 20 {
		if p := c.put(i%3, fmt.Sprint("k", i), fmt.Sprint("v", i), nil, 0); p.GetError() != nil {
			t.Fatal(p.GetError())
		}
	}
	c.put(1, "k3", "concurrent", nil, 0) // a blind write: siblings
	keys := []string{"k0", "absent", "k3", "", "k19"}
	for via := range 3 {
		m := c.getMany(via, 3, keys...)
		if m.GetError() != nil || len(m.GetReplies()) != len(keys) {
			t.Fatalf("via %d: %v", via, m)
		}
		r := m.GetReplies()
		if got := values(r[0]); len(got) != 1 || got[0] != "v0" {
			t.Fatalf("k0: %v", r[0])
		}
		if r[1].GetFound() || r[1].GetError() != nil {
			t.Fatalf("absent: %v", r[1])
		}
		if got := values(r[2]); len(got) != 2 || got[0] != "concurrent" || got[1] != "v3" {
			t.Fatalf("k3: %v", r[2])
		}
		if r[3].GetError().GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT || r[3].GetError().GetField() != "key" {
			t.Fatalf("empty key: %v", r[3])
		}
		if got := values(r[4]); len(got) != 1 || got[0] != "v19" {
			t.Fatalf("k19: %v", r[4])
		}
	}
	if m := c.getMany(0, 4, "k0", "k1"); m.GetReplies()[0].GetError().GetField() != "r" {
		t.Fatalf("R above N: %v, want each key refused naming r", m)
	}
	many := make([]string, request.MaxGetManyKeys+1)
	for i := range many {
		many[i] = fmt.Sprint("k", i)
	}
	if m := c.getMany(0, 0, many...); m.GetError().GetField() != "keys" || !strings.Contains(m.GetError().GetMessage(), "1000") || len(m.GetReplies()) != 0 {
		t.Fatalf("%d keys: %v, want the request refused naming keys and the limit", len(many), m.GetError())
	}
	if m := c.getMany(0, 0, many[:request.MaxGetManyKeys]...); len(m.GetReplies()) != request.MaxGetManyKeys {
		t.Fatalf("%d keys: %d replies, error %v", request.MaxGetManyKeys, len(m.GetReplies()), m.GetError())
	}
}
