package node

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/status"
)

// GET /status/history charts what the node sampled: request rates, and
// every member's keys and storage bytes; GET /inspect shows a key's copy
// on each owner, and that they differ while one owner is down.
func TestStatusHistoryAndInspect(t *testing.T) {
	h := startCluster(t, 3, func(c *Config) { c.HTTPAddr, c.HistoryInterval = "127.0.0.1:0", 100*time.Millisecond })
	base := httpBase(h.nodes[0])
	for i := range 30 {
		if r := h.put(h.nodes[0], fmt.Sprintf("hist/%d", i), "v", nil, 3); r.GetError() != nil {
			t.Fatal(r.GetError())
		}
	}
	var doc status.HistoryDoc
	deadline := time.Now().Add(20 * time.Second)
	for {
		doc = fetchHistory(t, base)
		if n := len(doc.Points); n >= 3 {
			last := doc.Points[n-1]
			full := len(last.Nodes) == 3
			for _, g := range last.Nodes {
				full = full && g.Keys > 0 && g.Bytes > 0
			}
			put := false
			for _, p := range doc.Points {
				put = put || p.Ops["put"].Rate > 0
			}
			if full && put {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("history after 20 s: %+v", doc)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if doc.Node != "n1" {
		t.Fatalf("history of %q", doc.Node)
	}

	if resp, b := httpDo(t, "GET", base+"/ready", nil); resp.StatusCode != 200 || string(b) != "ready\n" {
		t.Fatalf("GET /ready: %d %q", resp.StatusCode, b)
	}
	inspect := func(key string) status.Inspection { return fetchInspection(t, base, key) }
	in := inspect("hist/3")
	if !in.Agree || len(in.Replicas) != 3 || in.Key != "hist/3" {
		t.Fatalf("inspection of a key written at W=3: %+v", in)
	}
	for _, r := range in.Replicas {
		if !r.Found || r.Digest != in.Replicas[0].Digest || len(r.Siblings) != 1 || r.Siblings[0].Text != "v" || len(r.Clock) != 1 {
			t.Fatalf("replica %+v", r)
		}
	}
	if in := inspect("never-written"); !in.Agree || in.Replicas[0].Found {
		t.Fatalf("an absent key: %+v", in)
	}
	h.stop(2)
	if in := inspect("hist/3"); in.Agree {
		t.Fatalf("agree with an owner down: %+v", in)
	}
	for _, q := range []string{"", "?key=", "?k=x"} {
		if resp, b := httpDo(t, "GET", base+"/inspect"+q, nil); resp.StatusCode != 400 {
			t.Fatalf("GET /inspect%s: %d %s, want 400", q, resp.StatusCode, b)
		}
	}
}

func fetchHistory(t *testing.T, base string) status.HistoryDoc {
	t.Helper()
	resp, b := httpDo(t, "GET", base+"/status/history", nil)
	var d status.HistoryDoc
	if resp.StatusCode != 200 || json.Unmarshal(b, &d) != nil {
		t.Fatalf("GET /status/history: %d %s", resp.StatusCode, b)
	}
	return d
}

func fetchInspection(t *testing.T, base, key string) status.Inspection {
	t.Helper()
	resp, b := httpDo(t, "GET", base+"/inspect?key="+url.QueryEscape(key), nil)
	var in status.Inspection
	if resp.StatusCode != 200 || json.Unmarshal(b, &in) != nil {
		t.Fatalf("GET /inspect: %d %s", resp.StatusCode, b)
	}
	return in
}
