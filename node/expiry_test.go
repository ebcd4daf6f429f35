package node

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/httpapi"
)

// Expiry on a real cluster whose nodes default to a 2 s time to live: a
// put's TTL, the default, TTL(0) overriding it, and HTTP ?ttl=; each read
// path (node-coordinated, client-coordinated, GetMany, HTTP, listing)
// shows a value and its expiry before, and nothing after; bad ttls are
// refused naming the field.
func TestExpiryOnEveryPath(t *testing.T) {
	const def = 2 * time.Second
	h := startCluster(t, 3, func(c *Config) { c.HTTPAddr, c.DefaultTTL = "127.0.0.1:0", def })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	seeds := []string{h.nodes[0].ActorAddr()}
	cl, err := client.New(ctx, client.Config{Seeds: seeds, TLS: clientTLS(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	direct, err := client.New(ctx, client.Config{Seeds: seeds, TLS: clientTLS(t), CoordinateReads: true})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()

	start := time.Now()
	put := func(key string, opts ...client.Option) {
		t.Helper()
		if _, err := cl.Put(ctx, []byte("ttl:"+key), []byte(key), client.Context{}, opts...); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	put("short", client.TTL(time.Second))
	put("default")
	put("forever", client.TTL(0))
	put("long", client.TTL(time.Hour))
	if _, err := cl.Update(ctx, []byte("ttl:update"), func([][]byte) []byte { return []byte("update") }, client.TTL(time.Second)); err != nil {
		t.Fatalf("update with a ttl: %v", err)
	}
	kvURL := func(i int, key string) string {
		return httpBase(h.nodes[i]) + "/kv/" + url.PathEscape("ttl:"+key)
	}
	if resp, b := httpDo(t, "PUT", kvURL(1, "http")+"?ttl=1500ms", []byte("http")); resp.StatusCode != 204 {
		t.Fatalf("PUT ?ttl=1500ms: %d %s", resp.StatusCode, b)
	}
	wrote := time.Now()
	// Bad ttls name the field.
	for _, bad := range []client.Option{client.TTL(-time.Second), client.TTL(time.Microsecond), client.TTL(1500 * time.Microsecond), client.TTL(200 * 365 * 24 * time.Hour)} {
		_, err := cl.Put(ctx, []byte("ttl:bad"), []byte("x"), client.Context{}, bad)
		var inv *client.InvalidError
		if !errors.As(err, &inv) || inv.Field != "ttl" {
			t.Fatalf("bad ttl: %v, want an InvalidError naming ttl", err)
		}
	}
	for _, q := range []string{"?ttl=soon", "?ttl=-1s", "?ttl=500us", "?ttl=1.5ms", "?ttl=5000000000", "?ttl=99999999999h"} {
		if resp, b := httpDo(t, "PUT", kvURL(0, "bad")+q, []byte("x")); resp.StatusCode != 400 || !strings.Contains(string(b), "ttl") {
			t.Fatalf("PUT %s: %d %s, want 400 naming ttl", q, resp.StatusCode, b)
		}
	}
	if resp, b := httpDo(t, "GET", kvURL(0, "short")+"?ttl=1s", nil); resp.StatusCode != 400 || !strings.Contains(string(b), "ttl") {
		t.Fatalf("GET ?ttl: %d %s, want 400 naming ttl", resp.StatusCode, b)
	}
	if resp, b := httpDo(t, "DELETE", kvURL(0, "short")+"?ttl=1s", nil); resp.StatusCode != 400 || !strings.Contains(string(b), "ttl") {
		t.Fatalf("DELETE ?ttl: %d %s, want 400 naming ttl", resp.StatusCode, b)
	}

	// Before: every value reads with its expiry.
	want := map[string]time.Duration{"short": time.Second, "update": time.Second, "default": def, "forever": 0, "long": time.Hour, "http": 1500 * time.Millisecond}
	for key, ttl := range want {
		for _, c := range []*client.Client{cl, direct} {
			obj, err := c.Get(ctx, []byte("ttl:"+key), client.R(3))
			if err != nil || !obj.Found {
				t.Fatalf("%s before its expiry: %+v %v", key, obj, err)
			}
			if ttl == 0 {
				if obj.Expires != nil {
					t.Fatalf("%s never expires, reads with expiries %v", key, obj.Expires)
				}
				continue
			}
			if len(obj.Expires) != 1 || obj.Expires[0].Before(start.Add(ttl)) || obj.Expires[0].After(wrote.Add(ttl)) {
				t.Fatalf("%s expires %v, want %v after the write (%v to %v)", key, obj.Expires, ttl, start, wrote)
			}
		}
	}
	resp, _ := httpDo(t, "GET", kvURL(2, "short"), nil)
	if exp, err := time.Parse(time.RFC3339Nano, resp.Header.Get(httpapi.ExpiresHeader)); resp.StatusCode != 200 || err != nil || exp.Before(start.Add(time.Second).Truncate(time.Millisecond)) {
		t.Fatalf("GET short: %d, %s %q", resp.StatusCode, httpapi.ExpiresHeader, resp.Header.Get(httpapi.ExpiresHeader))
	}
	_, b := httpDo(t, "GET", kvURL(2, "forever"), nil, "Accept", "application/json")
	var doc struct{ Expires []string }
	if err := json.Unmarshal(b, &doc); err != nil || doc.Expires != nil {
		t.Fatalf("GET forever as JSON: %s", b)
	}
	listed := func() []string {
		it := cl.Keys(ctx, client.ListOptions{Prefix: []byte("ttl:")})
		var got []string
		for it.Next() {
			got = append(got, strings.TrimPrefix(string(it.Key()), "ttl:"))
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	if got := listed(); !slices.Equal(got, []string{"default", "forever", "http", "long", "short", "update"}) {
		t.Fatalf("listed %v before the expiries", got)
	}

	// After: only the values that have not expired.
	time.Sleep(time.Until(wrote.Add(def + 100*time.Millisecond)))
	for key, ttl := range want {
		gone := ttl != 0 && ttl <= def
		for _, c := range []*client.Client{cl, direct} {
			obj, err := c.Get(ctx, []byte("ttl:"+key), client.R(3))
			if err != nil || obj.Found == gone {
				t.Fatalf("%s after %v (ttl %v): %+v %v", key, def, ttl, obj, err)
			}
		}
		if resp, _ := httpDo(t, "GET", kvURL(0, key), nil); (resp.StatusCode == 404) != gone {
			t.Fatalf("HTTP GET %s after the expiries: %d", key, resp.StatusCode)
		}
	}
	many, err := cl.GetMany(ctx, [][]byte{[]byte("ttl:short"), []byte("ttl:long")})
	if err != nil || many[0].Object == nil || many[0].Object.Found || many[1].Object == nil || !many[1].Object.Found {
		t.Fatalf("GetMany after the expiry: %+v %v", many, err)
	}
	if got := listed(); !slices.Equal(got, []string{"forever", "long"}) {
		t.Fatalf("listed %v after the expiries, want forever and long", got)
	}
	// An expired key is absent to an if-absent put.
	if _, err := cl.Put(ctx, []byte("ttl:short"), []byte("again"), client.Context{}, client.IfAbsent()); err != nil {
		t.Fatalf("if-absent put of an expired key: %v", err)
	}
}
