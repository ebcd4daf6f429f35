package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/actors"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/status"
	"google.golang.org/protobuf/proto"
)

// fakeBackend records the requests and answers with answer.
type fakeBackend struct {
	mu     sync.Mutex
	asked  []proto.Message
	answer func(proto.Message) (proto.Message, error)
}

func (f *fakeBackend) Ask(ctx context.Context, req proto.Message) (proto.Message, error) {
	f.mu.Lock()
	f.asked = append(f.asked, req)
	f.mu.Unlock()
	if _, ok := req.(*messages.MembersRequest); ok {
		return &messages.MembersReply{Node: "n1", Partitions: 8, N: 1, R: 1, W: 1,
			Members: []*messages.MemberInfo{{Name: "n1", Addr: "127.0.0.1:1", State: messages.MemberState_MEMBER_STATE_UP, Weight: 1}}}, nil
	}
	return f.answer(req)
}

func (f *fakeBackend) requests() []proto.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []proto.Message
	for _, m := range f.asked {
		if _, ok := m.(*messages.MembersRequest); !ok {
			out = append(out, m)
		}
	}
	return out
}

func serve(t *testing.T, answer func(proto.Message) (proto.Message, error)) (*httptest.Server, *fakeBackend, *actors.Counters) {
	t.Helper()
	fb := &fakeBackend{answer: answer}
	c := &actors.Counters{}
	h, err := Handler(Config{Backend: fb, Counters: c, MaxValueBytes: 1000, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s, fb, c
}

func do(t *testing.T, method, u string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func errorOf(t *testing.T, b []byte) errorJSON {
	t.Helper()
	var e errorJSON
	if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
		t.Fatalf("error body %q is not {\"error\":...}: %v", b, err)
	}
	return e
}

func TestKeysRoundTripAnyBytes(t *testing.T) {
	s, fb, _ := serve(t, func(req proto.Message) (proto.Message, error) {
		return &messages.PutReply{Context: []byte{1, 2}}, nil
	})
	keys := [][]byte{[]byte("plain"), []byte("a/b//c"), []byte("../x"), []byte("sp ace?&#%"), {0, 0xff, 0x80, '\n'}, []byte("ünï")}
	for _, k := range keys {
		resp, b := do(t, "PUT", s.URL+"/kv/"+url.PathEscape(string(k)), []byte("v"))
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("key %q: status %d %s", k, resp.StatusCode, b)
		}
		if got := resp.Header.Get(ContextHeader); got != base64.StdEncoding.EncodeToString([]byte{1, 2}) {
			t.Fatalf("context header %q", got)
		}
	}
	reqs := fb.requests()
	for i, k := range keys {
		if got := reqs[i].(*messages.PutRequest).GetKey(); !bytes.Equal(got, k) {
			t.Errorf("key %q arrived as %q", k, got)
		}
	}
}

func TestGetAnswers(t *testing.T) {
	var reply *messages.GetReply
	s, _, _ := serve(t, func(proto.Message) (proto.Message, error) { return reply, nil })
	ctxb := base64.StdEncoding.EncodeToString([]byte("ctx"))

	reply = &messages.GetReply{Found: true, Values: [][]byte{[]byte("one")}, Context: []byte("ctx")}
	resp, b := do(t, "GET", s.URL+"/kv/k", nil)
	if resp.StatusCode != 200 || string(b) != "one" || resp.Header.Get(ContextHeader) != ctxb {
		t.Fatalf("one sibling: %d %q %q", resp.StatusCode, b, resp.Header.Get(ContextHeader))
	}

	reply = &messages.GetReply{Found: true, Values: [][]byte{[]byte("a"), []byte("b")}, Context: []byte("ctx")}
	resp, b = do(t, "GET", s.URL+"/kv/k", nil)
	var multi struct{ Values [][]byte }
	if resp.StatusCode != 300 || json.Unmarshal(b, &multi) != nil || len(multi.Values) != 2 || string(multi.Values[1]) != "b" || resp.Header.Get(ContextHeader) != ctxb {
		t.Fatalf("siblings: %d %s", resp.StatusCode, b)
	}

	resp, b = do(t, "GET", s.URL+"/kv/k", nil, "Accept", "text/html, application/json;q=0.9")
	var doc struct {
		Key     string
		Found   bool
		Values  [][]byte
		Context string
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &doc) != nil || !doc.Found || doc.Key != "k" || len(doc.Values) != 2 || doc.Context != ctxb {
		t.Fatalf("json: %d %s", resp.StatusCode, b)
	}

	reply = &messages.GetReply{}
	resp, b = do(t, "GET", s.URL+"/kv/k", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("not found: %d %s", resp.StatusCode, b)
	}
	errorOf(t, b)
	resp, b = do(t, "GET", s.URL+"/kv/k", nil, "Accept", "application/json")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"found":false`) || !strings.Contains(string(b), `"values":[]`) {
		t.Fatalf("json not found: %d %s", resp.StatusCode, b)
	}
}

func TestErrorsMapToStatuses(t *testing.T) {
	var e *messages.Error
	s, _, _ := serve(t, func(proto.Message) (proto.Message, error) { return &messages.GetReply{Error: e}, nil })
	cases := []struct {
		code   messages.ErrorCode
		status int
	}{
		{messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, 400},
		{messages.ErrorCode_ERROR_CODE_BAD_CONTEXT, 400},
		{messages.ErrorCode_ERROR_CODE_TOO_LARGE, 413},
		{messages.ErrorCode_ERROR_CODE_QUORUM, 503},
		{messages.ErrorCode_ERROR_CODE_UNAVAILABLE, 503},
		{messages.ErrorCode_ERROR_CODE_TIMEOUT, 504},
		{messages.ErrorCode_ERROR_CODE_TOO_MANY_SIBLINGS, 409},
		{messages.ErrorCode_ERROR_CODE_STORAGE, 507},
		{messages.ErrorCode_ERROR_CODE_INTERNAL, 500},
	}
	for _, c := range cases {
		e = &messages.Error{Code: c.code, Message: "read quorum: 1 of 2 replicas answered", Need: 2, Got: 1, Field: "r"}
		resp, b := do(t, "GET", s.URL+"/kv/k", nil)
		got := errorOf(t, b)
		if resp.StatusCode != c.status || got.Code != c.code.Slug() || got.Need != 2 || got.Got != 1 || got.Field != "r" || got.Error != e.Message {
			t.Errorf("%v: %d %s", c.code, resp.StatusCode, b)
		}
	}
	// No answer at all from the node: 504.
	s2, _, _ := serve(t, func(proto.Message) (proto.Message, error) { return nil, context.DeadlineExceeded })
	resp, b := do(t, "GET", s2.URL+"/kv/k?timeout=5ms", nil)
	if resp.StatusCode != 504 || errorOf(t, b).Code != "timeout" {
		t.Fatalf("no answer: %d %s", resp.StatusCode, b)
	}
}

func TestBadRequestsNameTheirFieldAndSendNothing(t *testing.T) {
	s, fb, _ := serve(t, func(proto.Message) (proto.Message, error) {
		t.Error("a bad request reached the node")
		return &messages.PutReply{}, nil
	})
	cases := []struct {
		method, path string
		body         []byte
		hdr          []string
		status       int
		field        string
	}{
		{"PUT", "/kv/k", make([]byte, 1001), nil, 413, "value"},
		{"PUT", "/kv/", []byte("v"), nil, 400, "key"},
		{"PUT", "/kv/k?w=0", []byte("v"), nil, 400, "w"},
		{"PUT", "/kv/k?w=two", []byte("v"), nil, 400, "w"},
		{"PUT", "/kv/k?r=2", []byte("v"), nil, 400, "r"},
		{"GET", "/kv/k?timeout=soon", nil, nil, 400, "timeout"},
		{"GET", "/kv/k?timeout=2h", nil, nil, 400, "timeout"},
		{"GET", "/kv/k?colour=red", nil, nil, 400, "colour"},
		{"PUT", "/kv/k", []byte("v"), []string{ContextHeader, "%%%"}, 400, ContextHeader},
		{"DELETE", "/kv/k", nil, []string{ContextHeader, "not base64!"}, 400, ContextHeader},
		{"POST", "/kv/k", nil, nil, 405, "method"},
	}
	for _, c := range cases {
		resp, b := do(t, c.method, s.URL+c.path, c.body, c.hdr...)
		if resp.StatusCode != c.status || errorOf(t, b).Field != c.field {
			t.Errorf("%s %s: %d %s, want %d naming %q", c.method, c.path, resp.StatusCode, b, c.status, c.field)
		}
	}
	if n := len(fb.requests()); n != 0 {
		t.Fatalf("%d requests reached the node", n)
	}
}

func TestDeleteWithoutContextDeletesWhatItRead(t *testing.T) {
	found := true
	s, fb, _ := serve(t, func(req proto.Message) (proto.Message, error) {
		switch req.(type) {
		case *messages.GetRequest:
			if !found {
				return &messages.GetReply{}, nil
			}
			return &messages.GetReply{Found: true, Values: [][]byte{[]byte("v")}, Context: []byte("seen")}, nil
		case *messages.DeleteRequest:
			return &messages.DeleteReply{}, nil
		}
		return nil, nil
	})
	resp, b := do(t, "DELETE", s.URL+"/kv/k?w=3", nil)
	if resp.StatusCode != 204 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	reqs := fb.requests()
	del := reqs[len(reqs)-1].(*messages.DeleteRequest)
	if string(del.GetContext()) != "seen" || del.GetW() != 3 {
		t.Fatalf("delete sent %v", del)
	}
	found = false
	if resp, b := do(t, "DELETE", s.URL+"/kv/k", nil); resp.StatusCode != 404 {
		t.Fatalf("delete of a missing key: %d %s", resp.StatusCode, b)
	}
	// With a context, no read.
	n := len(fb.requests())
	resp, _ = do(t, "DELETE", s.URL+"/kv/k", nil, ContextHeader, base64.StdEncoding.EncodeToString([]byte("mine")))
	reqs = fb.requests()
	if resp.StatusCode != 204 || len(reqs) != n+1 || string(reqs[n].(*messages.DeleteRequest).GetContext()) != "mine" {
		t.Fatalf("delete with a context: %d, %d requests", resp.StatusCode, len(reqs)-n)
	}
}

func TestParamsReachTheNode(t *testing.T) {
	s, fb, _ := serve(t, func(req proto.Message) (proto.Message, error) { return &messages.GetReply{}, nil })
	do(t, "GET", s.URL+"/kv/k?r=3&timeout=250ms", nil)
	do(t, "GET", s.URL+"/kv/k?timeout=40", nil)
	reqs := fb.requests()
	if g := reqs[0].(*messages.GetRequest); g.GetR() != 3 || g.GetTimeoutMs() != 250 {
		t.Fatalf("sent %v", g)
	}
	if g := reqs[1].(*messages.GetRequest); g.GetR() != 0 || g.GetTimeoutMs() != 40 {
		t.Fatalf("sent %v", g)
	}
}

// metricLine is one sample of the Prometheus text format.
var metricLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eE]+|NaN|\+Inf$`)

func TestMetricsFormatAndCounts(t *testing.T) {
	s, _, c := serve(t, func(req proto.Message) (proto.Message, error) { return &messages.GetReply{}, nil })
	c.Requests.Record("get", "ok", 3*time.Millisecond)
	c.Requests.Record("get", "ok", 300*time.Millisecond)
	c.Requests.Record("put", "quorum", time.Millisecond)
	c.HintsStored.Add(7)
	c.Restarts.Add(2)
	resp, b := do(t, "GET", s.URL+"/metrics", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	text := string(b)
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		if !metricLine.MatchString(line) {
			t.Errorf("not a sample line: %q", line)
		}
	}
	for _, want := range []string{
		`dynamo_requests_total{op="get",outcome="ok"} 2`,
		`dynamo_requests_total{op="put",outcome="quorum"} 1`,
		`dynamo_quorum_failures_total{op="put"} 1`,
		`dynamo_request_duration_seconds_bucket{op="get",outcome="ok",le="0.005"} 1`,
		`dynamo_request_duration_seconds_bucket{op="get",outcome="ok",le="0.5"} 2`,
		`dynamo_request_duration_seconds_bucket{op="get",outcome="ok",le="+Inf"} 2`,
		`dynamo_request_duration_seconds_count{op="get",outcome="ok"} 2`,
		`dynamo_hints_stored_total 7`,
		`dynamo_actor_restarts_total 2`,
		`dynamo_members{state="up"} 1`,
		"# TYPE dynamo_request_duration_seconds histogram",
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func TestStatusDocument(t *testing.T) {
	s, _, c := serve(t, func(req proto.Message) (proto.Message, error) { return nil, nil })
	c.Requests.Record("put", "ok", 2*time.Millisecond)
	resp, b := do(t, "GET", s.URL+"/status", nil)
	var doc struct {
		Node     string
		Members  []struct{ Name, State string }
		Ring     [][]string
		Requests []struct {
			Op, Outcome string
			Count       uint64
			MeanMs      float64 `json:"mean_ms"`
		}
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &doc) != nil {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if doc.Node != "n1" || len(doc.Members) != 1 || doc.Members[0].State != "up" || len(doc.Ring) != 8 || doc.Ring[3][0] != "n1" {
		t.Fatalf("document %s", b)
	}
	if len(doc.Requests) != 1 || doc.Requests[0].Count != 1 || doc.Requests[0].MeanMs != 2 {
		t.Fatalf("requests %+v", doc.Requests)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := Handler(Config{}); err == nil || !strings.Contains(err.Error(), "Backend") {
		t.Fatalf("no backend: %v", err)
	}
	if _, err := Start(Config{Backend: &fakeBackend{}, Addr: "nope"}); err == nil || !strings.Contains(err.Error(), "Addr") {
		t.Fatalf("bad addr: %v", err)
	}
}

// The profiler answers, behind the API's authentication.
func TestProfiler(t *testing.T) {
	s, _, _ := serve(t, func(proto.Message) (proto.Message, error) { return nil, nil })
	resp, b := do(t, "GET", s.URL+"/debug/pprof/heap?debug=1", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "heap profile") {
		t.Fatalf("heap profile: %d %.200s", resp.StatusCode, b)
	}
	h, err := Handler(Config{Backend: &fakeBackend{}, Tokens: [][]byte{[]byte("a-token-of-16-chars")}})
	if err != nil {
		t.Fatal(err)
	}
	locked := httptest.NewServer(h)
	defer locked.Close()
	if resp, _ := do(t, "GET", locked.URL+"/debug/pprof/heap", nil); resp.StatusCode != 401 {
		t.Fatalf("profiler without a token: %d", resp.StatusCode)
	}
}

// /ready answers without a token (probes carry none), 200 when the node
// says it is ready and 503 with the reason when not; /inspect and
// /status/history stay behind the token.
func TestReadyNeedsNoTokenAndSaysWhy(t *testing.T) {
	var notReady error
	h, err := Handler(Config{Backend: &fakeBackend{}, Tokens: [][]byte{[]byte("a-token-of-16-chars")},
		Ready:   func(context.Context) error { return notReady },
		History: func() status.HistoryDoc { return status.HistoryDoc{} },
		Inspect: func(context.Context, []byte) (status.Inspection, error) { return status.Inspection{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(h)
	defer s.Close()
	if resp, b := do(t, "GET", s.URL+"/ready", nil); resp.StatusCode != 200 || string(b) != "ready\n" {
		t.Fatalf("ready: %d %q", resp.StatusCode, b)
	}
	notReady = errors.New("n2 does not list this node up at 10.0.0.3:8946 yet")
	if resp, b := do(t, "GET", s.URL+"/ready", nil); resp.StatusCode != 503 || !strings.Contains(string(b), "n2 does not list") {
		t.Fatalf("not ready: %d %q", resp.StatusCode, b)
	}
	for _, p := range []string{"/inspect?key=k", "/status/history"} {
		if resp, _ := do(t, "GET", s.URL+p, nil); resp.StatusCode != 401 {
			t.Fatalf("%s without a token: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := do(t, "GET", s.URL+"/inspect?key=a&key=b", nil, "Authorization", "Bearer a-token-of-16-chars"); resp.StatusCode != 400 {
		t.Fatalf("two keys: %d", resp.StatusCode)
	}
	big := strings.Repeat("k", 70_000)
	if resp, _ := do(t, "GET", s.URL+"/inspect?key="+big, nil, "Authorization", "Bearer a-token-of-16-chars"); resp.StatusCode != 413 && resp.StatusCode != 400 {
		t.Fatalf("a key over the limit: %d", resp.StatusCode)
	}
}
