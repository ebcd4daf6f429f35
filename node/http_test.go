package node

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/httpapi"
)

// httpBase is nd's HTTP API URL: HTTPS when the tests run with TLS.
func httpBase(nd *Node) string {
	if secureAll {
		return "https://" + nd.HTTPAddr()
	}
	return "http://" + nd.HTTPAddr()
}

// httpClient is a client of the HTTP API: with TLS, one that presents the
// test client certificate.
func httpClient(t *testing.T) *http.Client {
	tc := clientTLS(t)
	if tc == nil {
		return http.DefaultClient
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tc.RootCAs, Certificates: tc.Certificates}}}
}

func httpDo(t *testing.T, method, u string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := httpClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// The HTTP API of a real 3-node cluster: writes through one node's HTTP
// API are read through another's and through the actor API; blind writes
// make siblings (300), a write with their context merges them; delete;
// R above N and an oversized value are refused naming their field, and the
// oversized value is stored nowhere; a lost quorum is 503 with need and
// got; /metrics counts it all.
func TestHTTPAPIOnACluster(t *testing.T) {
	h := startCluster(t, 3, func(c *Config) { c.HTTPAddr = "127.0.0.1:0" })
	h.waitMembers(3, 3)
	base := func(i int) string { return httpBase(h.nodes[i]) }
	key := "cart/ali ce\x00\xff"
	kv := func(i int) string { return base(i) + "/kv/" + url.PathEscape(key) }

	resp, b := httpDo(t, "PUT", kv(0), []byte("banana"))
	if resp.StatusCode != 204 || resp.Header.Get(httpapi.ContextHeader) == "" {
		t.Fatalf("put: %d %s", resp.StatusCode, b)
	}
	resp, b = httpDo(t, "GET", kv(1)+"?r=3", nil)
	if resp.StatusCode != 200 || string(b) != "banana" {
		t.Fatalf("get through another node: %d %q", resp.StatusCode, b)
	}
	if g := h.get(h.nodes[2], key, 2); !slices.Equal(vals(g), []string{"banana"}) {
		t.Fatalf("actor API reads %v", vals(g))
	}

	// If-None-Match: * writes only an absent key: 412 while it holds one.
	resp, b = httpDo(t, "PUT", kv(1), []byte("cherry"), "If-None-Match", "*")
	if resp.StatusCode != 412 || !strings.Contains(string(b), "exists") {
		t.Fatalf("if-absent put of a key that holds a value: %d %s, want 412", resp.StatusCode, b)
	}
	if resp, b := httpDo(t, "PUT", kv(1), []byte("cherry"), "If-None-Match", `"etag"`); resp.StatusCode != 400 || !strings.Contains(string(b), "If-None-Match") {
		t.Fatalf("If-None-Match with an etag: %d %s, want 400 naming the header", resp.StatusCode, b)
	}
	fresh := base(2) + "/kv/" + url.PathEscape("fresh key")
	if resp, b := httpDo(t, "PUT", fresh, []byte("first"), "If-None-Match", "*"); resp.StatusCode != 204 {
		t.Fatalf("if-absent put of an absent key: %d %s", resp.StatusCode, b)
	}
	if resp, _ := httpDo(t, "PUT", fresh, []byte("second"), "If-None-Match", "*"); resp.StatusCode != 412 {
		t.Fatalf("second if-absent put: %d, want 412", resp.StatusCode)
	}

	// A blind write is concurrent with the first: two siblings.
	if resp, b := httpDo(t, "PUT", kv(2), []byte("apple")); resp.StatusCode != 204 {
		t.Fatalf("blind put: %d %s", resp.StatusCode, b)
	}
	resp, b = httpDo(t, "GET", kv(0)+"?r=3", nil)
	var multi struct{ Values [][]byte }
	if resp.StatusCode != 300 || json.Unmarshal(b, &multi) != nil || len(multi.Values) != 2 {
		t.Fatalf("siblings: %d %s", resp.StatusCode, b)
	}
	ctxHdr := resp.Header.Get(httpapi.ContextHeader)
	if resp, b := httpDo(t, "PUT", kv(1), []byte("apple+banana"), httpapi.ContextHeader, ctxHdr); resp.StatusCode != 204 {
		t.Fatalf("merge put: %d %s", resp.StatusCode, b)
	}
	resp, b = httpDo(t, "GET", kv(2)+"?r=3", nil, "Accept", "application/json")
	var doc struct {
		Key     string
		Found   bool
		Values  [][]byte
		Context string
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &doc) != nil || !doc.Found || len(doc.Values) != 1 || string(doc.Values[0]) != "apple+banana" {
		t.Fatalf("after the merge: %d %s", resp.StatusCode, b)
	}
	if _, err := base64.StdEncoding.DecodeString(doc.Context); err != nil || doc.Context == "" {
		t.Fatalf("context %q: %v", doc.Context, err)
	}

	// Delete with the context: gone everywhere.
	if resp, b := httpDo(t, "DELETE", kv(0)+"?w=3", nil, httpapi.ContextHeader, doc.Context); resp.StatusCode != 204 {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	if resp, b := httpDo(t, "GET", kv(1)+"?r=3", nil); resp.StatusCode != 404 {
		t.Fatalf("get after delete: %d %s", resp.StatusCode, b)
	}

	// Bad input.
	resp, b = httpDo(t, "GET", kv(0)+"?r=4", nil)
	if resp.StatusCode != 400 || !strings.Contains(string(b), `"field":"r"`) || !strings.Contains(string(b), "exceeds n=3") {
		t.Fatalf("r=4: %d %s", resp.StatusCode, b)
	}
	big := base(0) + "/kv/big"
	resp, b = httpDo(t, "PUT", big, make([]byte, 10<<20))
	if resp.StatusCode != 413 || !strings.Contains(string(b), `"field":"value"`) {
		t.Fatalf("10 MiB value: %d %s", resp.StatusCode, b)
	}
	for i, nd := range h.nodes {
		if g := h.get(nd, "big", 3); g.GetFound() {
			t.Fatalf("the refused value is stored (read through n%d)", i+1)
		}
	}

	// Quorum lost: two of three nodes stopped.
	h.stop(1)
	h.stop(2)
	h.waitMembers(3, 1)
	resp, b = httpDo(t, "PUT", kv(0)+"?w=2&timeout=300ms", []byte("x"))
	var e struct {
		Error, Code string
		Need, Got   int
	}
	if resp.StatusCode != 503 || json.Unmarshal(b, &e) != nil || e.Code != "quorum" || e.Need != 2 || e.Got != 1 {
		t.Fatalf("lost quorum: %d %s", resp.StatusCode, b)
	}

	_, b = httpDo(t, "GET", base(0)+"/metrics", nil)
	text := string(b)
	for _, want := range []string{`dynamo_requests_total{op="put",outcome="ok"}`, `dynamo_quorum_failures_total{op="put"} 1`,
		`dynamo_members{state="up"} 1`, `dynamo_members{state="down"} 2`, "dynamo_storage_bytes "} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
	// The object cache: the reads above hit it (a key read after its
	// write), every write before them missed it, and it holds objects.
	for _, name := range []string{"dynamo_cache_hits_total", "dynamo_cache_misses_total", "dynamo_cache_bytes"} {
		if v := metricValue(text, name); v <= 0 {
			t.Errorf("%s is %v:\n%s", name, v, text)
		}
	}
	// Remoting: the node received batches from its peers, each of at
	// least one message.
	batches, msgs := metricValue(text, "dynamo_remoting_batches_received_total"), metricValue(text, "dynamo_remoting_messages_received_total")
	if batches <= 0 || msgs < batches || msgs > 32*batches {
		t.Errorf("remoting: %v messages in %v batches:\n%s", msgs, batches, text)
	}
	resp, b = httpDo(t, "GET", base(0)+"/status", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"node":"n1"`) {
		t.Fatalf("status: %d %s", resp.StatusCode, b)
	}
}

// metricValue is the value of the unlabelled sample name in a Prometheus
// text exposition, -1 when absent.
func metricValue(text, name string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}
