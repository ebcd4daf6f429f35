package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/backup"
	"github.com/dynamokv/dynamo/client"
)

// An online export and its import, through the Go client on real nodes:
// export while the cluster runs (siblings, deletes), keep writing, import
// into the same cluster (nothing newer is lost, the backup's versions
// merge in), and into a new, empty cluster (every key reads as in the
// backup); a damaged or truncated file is refused with its offset and
// writes nothing.
func TestExportImport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	connect := func(h *harness) *client.Client {
		t.Helper()
		cl, err := client.New(ctx, client.Config{Seeds: []string{h.nodes[0].ActorAddr()}, TLS: clientTLS(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	read := func(cl *client.Client, key string) []string {
		t.Helper()
		obj, err := cl.Get(ctx, []byte(key), client.R(3))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range obj.Values {
			out = append(out, string(v))
		}
		slices.Sort(out)
		return out
	}
	a := startCluster(t, 3, nil)
	ca := connect(a)
	const n = 120
	for i := range n {
		k := fmt.Sprint("k", i)
		c, err := ca.Put(ctx, []byte(k), []byte("v1"), client.Context{}, client.W(3))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case i%10 == 0: // deleted before the export
			if err := ca.Delete(ctx, []byte(k), c, client.W(3)); err != nil {
				t.Fatal(err)
			}
		case i%10 == 1: // siblings
			if _, err := ca.Put(ctx, []byte(k), []byte("v1-sibling"), client.Context{}, client.W(3)); err != nil {
				t.Fatal(err)
			}
		}
	}
	backupState := map[string][]string{}
	for i := range n {
		backupState[fmt.Sprint("k", i)] = read(ca, fmt.Sprint("k", i))
	}
	var file bytes.Buffer
	var last client.BackupProgress
	exported, err := ca.Export(ctx, &file, func(p client.BackupProgress) { last = p })
	if err != nil {
		t.Fatal(err)
	}
	if exported != n || last.Keys != n || last.Bytes == 0 {
		t.Fatalf("exported %d keys (progress %+v), want %d (deleted keys' tombstones included)", exported, last, n)
	}
	if _, count, err := backup.Verify(bytes.NewReader(file.Bytes())); err != nil || count != n {
		t.Fatalf("the export does not verify: %d %v", count, err)
	}

	// Keep writing: overwrite some keys (descending the backup), add new ones.
	for i := 2; i < n; i += 10 {
		k := fmt.Sprint("k", i)
		obj, err := ca.Get(ctx, []byte(k))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ca.Put(ctx, []byte(k), []byte("v2"), obj.Context, client.W(3)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ca.Put(ctx, []byte("after-the-export"), []byte("new"), client.Context{}, client.W(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Import(ctx, bytes.NewReader(file.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		k := fmt.Sprint("k", i)
		want := backupState[k]
		if i%10 == 2 {
			want = []string{"v2"} // newer than the backup: kept, not overwritten
		}
		if got := read(ca, k); !slices.Equal(got, want) {
			t.Fatalf("%s after importing into the running cluster: %q, want %q", k, got, want)
		}
	}
	if got := read(ca, "after-the-export"); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("a key written after the export: %q", got)
	}

	// A new, empty cluster: damaged files are refused, writing nothing;
	// the whole file restores every key as it was.
	b := startCluster(t, 3, nil)
	cb := connect(b)
	damaged := bytes.Clone(file.Bytes())
	damaged[len(damaged)/2] ^= 0xff
	for name, bad := range map[string][]byte{"damaged": damaged, "truncated": file.Bytes()[:file.Len()-7]} {
		var fe *backup.FormatError
		if _, err := cb.Import(ctx, bytes.NewReader(bad), nil); !errors.As(err, &fe) || !errors.Is(err, backup.ErrFormat) || fe.Offset <= 0 {
			t.Fatalf("%s file: %v, want a format error with its offset", name, err)
		}
	}
	if got := read(cb, "k3"); len(got) != 0 {
		t.Fatalf("a refused import wrote %q", got)
	}
	imported, err := cb.Import(ctx, bytes.NewReader(file.Bytes()), nil)
	if err != nil || imported != n {
		t.Fatalf("import into an empty cluster: %d %v", imported, err)
	}
	for i := range n {
		k := fmt.Sprint("k", i)
		if got := read(cb, k); !slices.Equal(got, backupState[k]) {
			t.Fatalf("%s restored as %q, want %q", k, got, backupState[k])
		}
	}
}
