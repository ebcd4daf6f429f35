package main

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// What operators reach for, through the CLI and HTTP against real agents
// whose default time to live is 2 s: put --ttl, the default and --ttl 0,
// expiry on get, keys and HTTP, create-if-absent (refused while a value
// lives, taken once it expired), export and import.
func TestE2EExpiryKeysIfAbsentAndBackups(t *testing.T) {
	e := newE2EWith(t, 3, []string{"--default-ttl", "2s"})
	cli := func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := e.cli(args...)
		if code != want {
			t.Fatalf("dynamo %s: exit %d (want %d), stdout %q, stderr %q", strings.Join(args, " "), code, want, out, errOut)
		}
		return out + errOut
	}
	start := time.Now()
	cli(0, "put", "--ttl", "1s", "op:short", "s")
	cli(0, "put", "op:default", "d")
	cli(0, "put", "--ttl", "0", "op:forever", "f")
	req, _ := http.NewRequest(http.MethodPut, "http://"+e.agents[1].http+"/kv/op:http?ttl=1", strings.NewReader("h"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("HTTP PUT ?ttl=1: %v %v", resp, err)
	}
	resp.Body.Close()
	wrote := time.Now()

	for key, ttl := range map[string]time.Duration{"op:short": time.Second, "op:default": 2 * time.Second, "op:http": time.Second} {
		out := cli(0, "get", key)
		_, after, ok := strings.Cut(out, "expires: ")
		exp, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(after))
		if !ok || err != nil || exp.Before(start.Add(ttl).Truncate(time.Millisecond)) || exp.After(wrote.Add(ttl)) {
			t.Fatalf("get %s: %q, want it to expire %v after the write", key, out, ttl)
		}
	}
	if out := cli(0, "get", "op:forever"); strings.Contains(out, "expires") {
		t.Fatalf("get op:forever: %q", out)
	}
	if out := cli(1, "put", "--if-absent", "op:short", "again"); !strings.Contains(out, "exists") {
		t.Fatalf("put --if-absent of a live key: %q", out)
	}
	keys := func() []string {
		k := strings.Fields(cli(0, "keys", "--prefix", "op:"))
		slices.Sort(k)
		return k
	}
	if got := keys(); !slices.Equal(got, []string{"op:default", "op:forever", "op:http", "op:short"}) {
		t.Fatalf("keys before the expiries: %v", got)
	}
	backup := filepath.Join(t.TempDir(), "before.dump")
	cli(0, "export", "--out", backup)

	time.Sleep(time.Until(wrote.Add(2*time.Second + 200*time.Millisecond)))
	for _, key := range []string{"op:short", "op:default", "op:http"} {
		if out := cli(1, "get", key); !strings.Contains(out, "not found") {
			t.Fatalf("get %s after its expiry: %q", key, out)
		}
	}
	resp, err = http.Get("http://" + e.agents[2].http + "/kv/op:http")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HTTP GET after the expiry: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := keys(); !slices.Equal(got, []string{"op:forever"}) {
		t.Fatalf("keys after the expiries: %v", got)
	}
	// Restoring the backup brings the expired values back as they were:
	// expired.
	cli(0, "import", backup)
	if got := keys(); !slices.Equal(got, []string{"op:forever"}) {
		t.Fatalf("keys after importing a backup taken before the expiries: %v", got)
	}
	cli(0, "put", "--if-absent", "--ttl", "0", "op:short", "again")
	resp, err = http.Get("http://" + e.agents[0].http + "/kv/op:short")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, []byte("again")) || resp.Header.Get("X-Dynamo-Expires") != "" {
		t.Fatalf("op:short taken again: %d %q expires %q", resp.StatusCode, body, resp.Header.Get("X-Dynamo-Expires"))
	}
}
