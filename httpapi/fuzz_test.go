package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/actors"
	"github.com/dynamokv/dynamo/messages"
	"google.golang.org/protobuf/proto"
)

// FuzzRequest sends arbitrary methods, paths, queries, headers and bodies
// to the handler (over a fake node that answers every request): it must
// never panic, must answer with a known status, an error must be a JSON
// object naming it, and whatever reaches the node must be a well-formed
// request within the limits.
func FuzzRequest(f *testing.F) {
	f.Add("PUT", "/kv/k", "w=2&timeout=250ms", "X-Dynamo-Context", "CAESIAoVZGV2MQ==", []byte("v"))
	f.Add("GET", "/kv/a%2Fb%00", "r=3", "Accept", "application/json", []byte(nil))
	f.Add("DELETE", "/kv/%ff", "", "X-Dynamo-Context", "!!", []byte(nil))
	f.Add("GET", "/metrics", "", "Authorization", "Bearer x", []byte(nil))
	f.Add("POST", "/kv/", "colour=red&r=-1", "", "", []byte("x"))
	f.Add("GET", "/kv/..%2F..", "timeout=99999999999", "Accept", "*/*;q=0.1,application/json", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path, query, hname, hvalue string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		if strings.HasPrefix(path, "/debug/") {
			return // Go's profiler: its own input handling, and a CPU profile takes 30 s
		}
		target := path
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequest(method, "http://fuzz"+target, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		if hname != "" {
			req.Header.Set(hname, hvalue)
		}
		fb := &fakeBackend{answer: func(m proto.Message) (proto.Message, error) {
			switch r := m.(type) {
			case *messages.GetRequest:
				if len(r.GetKey()) == 0 {
					t.Fatal("an empty key reached the node")
				}
				return &messages.GetReply{Found: true, Values: [][]byte{[]byte("a"), []byte("b")}, Context: []byte{1}}, nil
			case *messages.PutRequest:
				if len(r.GetKey()) == 0 || len(r.GetValue()) > 1000 {
					t.Fatalf("a bad put reached the node: key %d bytes, value %d bytes", len(r.GetKey()), len(r.GetValue()))
				}
				return &messages.PutReply{Context: []byte{2}}, nil
			case *messages.DeleteRequest:
				return &messages.DeleteReply{}, nil
			case *messages.MembersRequest:
				return &messages.MembersReply{Node: "n", Partitions: 8, N: 3, R: 2, W: 2}, nil
			case *messages.ListKeysRequest:
				if r.GetPartition() >= 8 {
					t.Fatalf("a listing of partition %d of 8 reached the node", r.GetPartition())
				}
				return &messages.ListKeysReply{Partition: r.GetPartition(), Keys: [][]byte{[]byte("k")}, Done: true}, nil
			}
			return nil, nil
		}}
		h, err := Handler(Config{Backend: fb, Counters: &actors.Counters{}, MaxValueBytes: 1000, Timeout: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 204, 300, 301, 307, 308, 404, 400, 405, 413:
		default:
			t.Fatalf("%s %s: status %d", method, target, rec.Code)
		}
		if rec.Code >= 400 && rec.Code != 404 || (rec.Code == 404 && strings.HasPrefix(path, kvPrefix)) {
			var e errorJSON
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
				if !(rec.Code == 404 || rec.Code == 405) || strings.HasPrefix(req.URL.EscapedPath(), kvPrefix) {
					t.Fatalf("%s %s: %d with body %q, not a JSON error", method, target, rec.Code, rec.Body.String())
				}
			}
		}
	})
}
