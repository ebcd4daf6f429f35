package node

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/actors"
	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/messages"
)

// Client-write limits on a real node, through the actor API and HTTP: a
// key that keeps getting blind (concurrent) writes is warned about from 25
// versions on (log line and counter) and refused at 101 with
// TOO_MANY_SIBLINGS (HTTP 409) until a write with the read's context
// merges it; an oversized key is refused with 413 naming the key.
func TestSiblingAndKeyLimits(t *testing.T) {
	h := startCluster(t, 1, func(c *Config) { c.N, c.R, c.W, c.HTTPAddr = 1, 1, 1, "127.0.0.1:0" })
	nd := h.nodes[0]
	for i := range 100 {
		if r := h.put(nd, "hot", "v", nil, 1); r.GetError() != nil {
			t.Fatalf("blind write %d: %v", i+1, r.GetError())
		}
	}
	if w := nd.Counters().SiblingWarnings.Load(); w != 100-actors.SiblingWarning+1 {
		t.Fatalf("%d sibling warnings after 100 blind writes, want %d", w, 100-actors.SiblingWarning+1)
	}
	r := h.put(nd, "hot", "one too many", nil, 1)
	if r.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_TOO_MANY_SIBLINGS || !strings.Contains(r.GetError().GetMessage(), "limit is 100") {
		t.Fatalf("101st blind write: %v", r.GetError())
	}
	resp, b := httpDo(t, "PUT", httpBase(nd)+"/kv/hot", []byte("by http"))
	if resp.StatusCode != 409 || !strings.Contains(string(b), `"code":"too_many_siblings"`) {
		t.Fatalf("101st write over HTTP: %d %s", resp.StatusCode, b)
	}
	// Merging with the read's context is always possible.
	g := h.get(nd, "hot", 1)
	if len(g.GetValues()) != 100 {
		t.Fatalf("%d siblings, want 100", len(g.GetValues()))
	}
	if r := h.put(nd, "hot", "merged", g.GetContext(), 1); r.GetError() != nil {
		t.Fatalf("merge: %v", r.GetError())
	}
	if g := h.get(nd, "hot", 1); len(g.GetValues()) != 1 {
		t.Fatalf("%d values after the merge", len(g.GetValues()))
	}
	resp, b = httpDo(t, "PUT", httpBase(nd)+"/kv/"+url.PathEscape(strings.Repeat("k", actors.DefaultMaxKeyBytes+1)), []byte("v"))
	if resp.StatusCode != 413 || !strings.Contains(string(b), `"field":"key"`) {
		t.Fatalf("oversized key: %d %s", resp.StatusCode, b)
	}
}

// The same limits through the Go client against a real node: typed errors
// that name the field, and nothing stored.
func TestLimitsThroughTheGoClient(t *testing.T) {
	h := startCluster(t, 1, func(c *Config) { c.N, c.R, c.W = 1, 1, 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := client.New(ctx, client.Config{Seeds: []string{h.nodes[0].ActorAddr()}, TLS: clientTLS(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var inv *client.InvalidError
	_, err = cl.Put(ctx, []byte("big"), make([]byte, 10<<20), nil)
	if !errors.As(err, &inv) || inv.Field != "value" || inv.Code != messages.ErrorCode_ERROR_CODE_TOO_LARGE || !strings.Contains(inv.Msg, "limit is 1048576") {
		t.Fatalf("10 MiB value: %v", err)
	}
	if o, err := cl.Get(ctx, []byte("big"), client.R(1)); err != nil || o.Found {
		t.Fatalf("after the refused put: %+v %v", o, err)
	}
	_, err = cl.Put(ctx, bytes.Repeat([]byte("k"), actors.DefaultMaxKeyBytes+1), []byte("v"), nil)
	if !errors.As(err, &inv) || inv.Field != "key" {
		t.Fatalf("oversized key: %v", err)
	}
	_, err = cl.Put(ctx, []byte("k"), []byte("v"), []byte("corrupted context"))
	if !errors.As(err, &inv) || inv.Field != "context" || inv.Code != messages.ErrorCode_ERROR_CODE_BAD_CONTEXT {
		t.Fatalf("corrupted context: %v", err)
	}
	for range 100 {
		if _, err := cl.Put(ctx, []byte("hot"), []byte("v"), nil, client.W(1)); err != nil {
			t.Fatal(err)
		}
	}
	var se *client.ServerError
	if _, err := cl.Put(ctx, []byte("hot"), []byte("v"), nil, client.W(1)); !errors.As(err, &se) || se.Code != messages.ErrorCode_ERROR_CODE_TOO_MANY_SIBLINGS {
		t.Fatalf("101st sibling: %v", err)
	}
}
