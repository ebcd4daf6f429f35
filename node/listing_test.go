package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/client"
)

// Listing through the Go client on a real cluster: every key that holds a
// value once (deleted keys not), a prefix, small pages, a cursor that
// resumes after the last key seen, GetMany over what was listed, and a
// bad cursor refused.
func TestClientKeysAndGetMany(t *testing.T) {
	h := startCluster(t, 3, func(c *Config) { c.HTTPAddr = "127.0.0.1:0" })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := client.New(ctx, client.Config{Seeds: []string{h.nodes[0].ActorAddr()}, TLS: clientTLS(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var want []string
	for i := range 300 {
		prefix := "cart:"
		if i%2 == 1 {
			prefix = "user:"
		}
		k := fmt.Sprintf("%s%03d", prefix, i)
		c, err := cl.Put(ctx, []byte(k), []byte("v"+k), client.Context{})
		if err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			if err := cl.Delete(ctx, []byte(k), c); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want = append(want, k)
	}
	list := func(o client.ListOptions, stopAfter int) ([]string, string) {
		t.Helper()
		it := cl.Keys(ctx, o)
		var got []string
		for it.Next() {
			got = append(got, string(it.Key()))
			if len(got) == stopAfter {
				return got, it.Cursor()
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		if it.Cursor() != "" {
			t.Fatalf("a complete listing left cursor %q", it.Cursor())
		}
		return got, ""
	}
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

	got, _ := list(client.ListOptions{PageSize: 7}, -1)
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("listed %d keys, want the %d that hold a value", len(got), len(want))
	}
	users, _ := list(client.ListOptions{Prefix: []byte("user:")}, -1)
	for _, k := range users {
		if !strings.HasPrefix(k, "user:") {
			t.Fatalf("prefix user: listed %q", k)
		}
	}
	var wantUsers []string
	for _, k := range want {
		if strings.HasPrefix(k, "user:") {
			wantUsers = append(wantUsers, k)
		}
	}
	if !slices.Equal(sorted(users), sorted(wantUsers)) {
		t.Fatalf("%d user: keys, want %d", len(users), len(wantUsers))
	}
	// Stop, resume with the cursor: the two halves make the whole, once.
	first, cursor := list(client.ListOptions{PageSize: 5}, 100)
	if cursor == "" {
		t.Fatal("no cursor after 100 keys")
	}
	rest, _ := list(client.ListOptions{PageSize: 5, Cursor: cursor}, -1)
	if all := append(first, rest...); !slices.Equal(sorted(all), sorted(want)) {
		t.Fatalf("resumed listing: %d + %d keys, want %d once each", len(first), len(rest), len(want))
	}
	// Over HTTP: pages of 13 through GET /kv, resumed by cursor, and a
	// cursor from the Go client resumes there too.
	var viaHTTP []string
	cur := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("no end to the HTTP listing")
		}
		resp, b := httpDo(t, "GET", httpBase(h.nodes[pages%3])+"/kv?limit=13&cursor="+url.QueryEscape(cur), nil)
		var page struct {
			Keys   [][]byte
			Cursor string
		}
		if resp.StatusCode != 200 || json.Unmarshal(b, &page) != nil || len(page.Keys) > 13 {
			t.Fatalf("GET /kv page %d: %d %s", pages, resp.StatusCode, b)
		}
		for _, k := range page.Keys {
			viaHTTP = append(viaHTTP, string(k))
		}
		if page.Cursor == "" {
			break
		}
		cur = page.Cursor
	}
	if !slices.Equal(sorted(viaHTTP), sorted(want)) {
		t.Fatalf("GET /kv listed %d keys, want %d", len(viaHTTP), len(want))
	}
	resp, b := httpDo(t, "GET", httpBase(h.nodes[1])+"/kv/?prefix=user:&limit=10000&cursor="+url.QueryEscape(cursor), nil)
	var page struct{ Keys [][]byte }
	if resp.StatusCode != 200 || json.Unmarshal(b, &page) != nil {
		t.Fatalf("GET /kv/ with the client's cursor: %d %s", resp.StatusCode, b)
	}
	for _, k := range page.Keys {
		if !strings.HasPrefix(string(k), "user:") || !slices.Contains(rest, string(k)) {
			t.Fatalf("GET /kv/ resumed from the client's cursor listed %q, not among the rest", k)
		}
	}
	for _, bad := range []string{"cursor=%25%25", "limit=0", "colour=red"} {
		if resp, b := httpDo(t, "GET", httpBase(h.nodes[0])+"/kv?"+bad, nil); resp.StatusCode != 400 {
			t.Fatalf("GET /kv?%s: %d %s, want 400", bad, resp.StatusCode, b)
		}
	}

	it := cl.Keys(ctx, client.ListOptions{Cursor: "%%%"})
	if it.Next() || !errors.Is(it.Err(), client.ErrBadCursor) {
		t.Fatalf("a bad cursor: %v", it.Err())
	}

	keys := make([][]byte, len(want))
	for i, k := range want {
		keys[i] = []byte(k)
	}
	res, err := cl.GetMany(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || !r.Object.Found || string(r.Object.Values[0]) != "v"+want[i] {
			t.Fatalf("GetMany %s: %+v %v", want[i], r.Object, r.Err)
		}
	}
}
