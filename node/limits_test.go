package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/actors"
	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/httpapi"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/request"
	"github.com/dynamokv/dynamo/version"
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
	resp, b = httpDo(t, "PUT", httpBase(nd)+"/kv/"+url.PathEscape(strings.Repeat("k", request.DefaultMaxKeyBytes+1)), []byte("v"))
	if resp.StatusCode != 413 || !strings.Contains(string(b), `"field":"key"`) {
		t.Fatalf("oversized key: %d %s", resp.StatusCode, b)
	}
}

// The same limits through the Go client against a real node: typed errors
// that name the field, and nothing stored.
func TestLimitsThroughTheGoClient(t *testing.T) {
	h := startCluster(t, 1, func(c *Config) { c.N, c.R, c.W = 1, 1, 1 })
	ctx, cl := goClient(t, h)
	var inv *client.InvalidError
	_, err := cl.Put(ctx, []byte("big"), make([]byte, 10<<20), client.Context{})
	if !errors.As(err, &inv) || inv.Field != "value" || inv.Code != messages.ErrorCode_ERROR_CODE_TOO_LARGE || !strings.Contains(inv.Msg, "limit is 1048576") {
		t.Fatalf("10 MiB value: %v", err)
	}
	if o, err := cl.Get(ctx, []byte("big"), client.R(1)); err != nil || o.Found {
		t.Fatalf("after the refused put: %+v %v", o, err)
	}
	_, err = cl.Put(ctx, bytes.Repeat([]byte("k"), request.DefaultMaxKeyBytes+1), []byte("v"), client.Context{})
	if !errors.As(err, &inv) || inv.Field != "key" {
		t.Fatalf("oversized key: %v", err)
	}
	_, err = cl.Put(ctx, []byte("k"), []byte("v"), client.ContextFromBytes([]byte("corrupted context")))
	if !errors.As(err, &inv) || inv.Field != "context" || inv.Code != messages.ErrorCode_ERROR_CODE_BAD_CONTEXT {
		t.Fatalf("corrupted context: %v", err)
	}
	for range 100 {
		if _, err := cl.Put(ctx, []byte("hot"), []byte("v"), client.Context{}, client.W(1)); err != nil {
			t.Fatal(err)
		}
	}
	var se *client.ServerError
	if _, err := cl.Put(ctx, []byte("hot"), []byte("v"), client.Context{}, client.W(1)); !errors.As(err, &se) || se.Code != messages.ErrorCode_ERROR_CODE_TOO_MANY_SIBLINGS {
		t.Fatalf("101st sibling: %v", err)
	}
}

// A context that claims a counter of the coordinating vnode's actor beyond
// any it issued (crafted from a real one, the counter at 2^64-2) is
// refused with BAD_CONTEXT naming the context, over the actor API and as
// HTTP 400; the node keeps taking writes of every key, and nothing the
// forged write named is stored.
func TestForgedContextIsRefused(t *testing.T) {
	h := startCluster(t, 1, func(c *Config) { c.N, c.R, c.W, c.HTTPAddr = 1, 1, 1, "127.0.0.1:0" })
	nd := h.nodes[0]
	r := h.put(nd, "k", "v", nil, 1)
	if r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	real, err := version.DecodeContext(r.GetContext())
	if err != nil || len(real.Clock) != 1 {
		t.Fatalf("returned context %+v %v", real, err)
	}
	forged := real
	forged.Clock = version.Clock{{Actor: real.Clock[0].Actor, Counter: math.MaxUint64 - 1}}
	enc := version.EncodeContext(forged)
	bad := h.put(nd, "k", "forged", enc, 1)
	if bad.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_BAD_CONTEXT || bad.GetError().GetField() != "context" || !strings.Contains(bad.GetError().GetMessage(), "has issued 1") {
		t.Fatalf("forged context: %v", bad.GetError())
	}
	resp, b := httpDo(t, "PUT", httpBase(nd)+"/kv/k", []byte("forged"), httpapi.ContextHeader, base64.StdEncoding.EncodeToString(enc))
	if resp.StatusCode != 400 || !strings.Contains(string(b), `"code":"bad_context"`) {
		t.Fatalf("forged context over HTTP: %d %s", resp.StatusCode, b)
	}
	for i := range 20 {
		if r := h.put(nd, fmt.Sprintf("other-%d", i), "v", nil, 1); r.GetError() != nil {
			t.Fatalf("a write after the forged context: %v", r.GetError())
		}
	}
	if g := h.get(nd, "k", 1); len(g.GetValues()) != 1 || string(g.GetValues()[0]) != "v" {
		t.Fatalf("k after the refused writes: %q", g.GetValues())
	}
}

// A put reports how it was acknowledged (client.ReportAcks).
func TestPutReportsItsAcks(t *testing.T) {
	h := startCluster(t, 1, func(c *Config) { c.N, c.R, c.W = 1, 1, 1 })
	ctx, cl := goClient(t, h)
	var acks client.Acks
	if _, err := cl.Put(ctx, []byte("k"), []byte("v"), client.Context{}, client.ReportAcks(&acks)); err != nil || acks != (client.Acks{Acked: 1}) {
		t.Fatalf("put: %v, acks %+v, want 1 acked, none hinted", err, acks)
	}
	acks = client.Acks{}
	if _, err := cl.PutVia(ctx, h.nodes[0].Name(), []byte("k"), []byte("w"), client.Context{}, client.ReportAcks(&acks)); err != nil || acks != (client.Acks{Acked: 1}) {
		t.Fatalf("put via: %v, acks %+v", err, acks)
	}
}

// goClient is a Go client of h's first node, closed with the test, and a
// context bounding the test's calls.
func goClient(t *testing.T, h *harness) (context.Context, *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	cl, err := client.New(ctx, client.Config{Seeds: []string{h.nodes[0].ActorAddr()}, TLS: clientTLS(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return ctx, cl
}
