package storage

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// forEachEngine runs fn as a subtest against every engine implementation.
// The engine is closed when the test ends.
func forEachEngine(t *testing.T, fn func(t *testing.T, e Engine)) {
	t.Helper()
	engines := []struct {
		name string
		open func(t *testing.T) Engine
	}{
		{"memory", func(*testing.T) Engine { return NewMemory() }},
		{"leveldb", func(t *testing.T) Engine { return openTestLevelDB(t, t.TempDir()) }},
		{"faulty-off", func(*testing.T) Engine {
			s := FailOps(errors.New("injected"))
			s.SetEnabled(false)
			return NewFaulty(NewMemory(), s)
		}},
	}
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			e := eng.open(t)
			t.Cleanup(func() { _ = e.Close() })
			fn(t, e)
		})
	}
}

func openTestLevelDB(t testing.TB, dir string) *LevelDB {
	t.Helper()
	l, err := OpenLevelDB(dir, DefaultLevelDBConfig())
	if err != nil {
		t.Fatalf("OpenLevelDB(%s): %v", dir, err)
	}
	return l
}

type kv struct{ key, value string }

// scan reads r in ks with a fresh iterator. It keeps the slices returned by
// Key and Value without copying them, so it also checks that they stay valid.
func scan(e Engine, ks Keyspace, r Range) ([]kv, error) {
	it := e.NewIterator(ks, r)
	var keys, values [][]byte
	for it.Next() {
		keys = append(keys, it.Key())
		values = append(values, it.Value())
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	out := make([]kv, len(keys))
	for i := range keys {
		out[i] = kv{string(keys[i]), string(values[i])}
	}
	return out, nil
}

func mustScan(t *testing.T, e Engine, ks Keyspace, r Range) []kv {
	t.Helper()
	got, err := scan(e, ks, r)
	if err != nil {
		t.Fatalf("scan %s %q..%q: %v", ks, r.Start, r.Limit, err)
	}
	return got
}

func mustPut(t *testing.T, e Engine, ks Keyspace, key, value string) {
	t.Helper()
	if err := Put(e, ks, []byte(key), []byte(value), WriteOptions{}); err != nil {
		t.Fatalf("Put(%s, %q): %v", ks, key, err)
	}
}

func wantGet(t *testing.T, e Engine, ks Keyspace, key, want string) {
	t.Helper()
	got, err := e.Get(ks, []byte(key))
	if err != nil {
		t.Fatalf("Get(%s, %q): %v, want %q", ks, key, err, want)
	}
	if string(got) != want {
		t.Fatalf("Get(%s, %q) = %q, want %q", ks, key, got, want)
	}
}

func wantNotFound(t *testing.T, e Engine, ks Keyspace, key string) {
	t.Helper()
	if v, err := e.Get(ks, []byte(key)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(%s, %q) = %q, %v; want ErrNotFound", ks, key, v, err)
	}
}

func wantKVs(t *testing.T, what string, got []kv, want ...kv) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func TestEngineGetPutDelete(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		wantNotFound(t, e, KeyspaceData, "k")
		mustPut(t, e, KeyspaceData, "k", "v1")
		wantGet(t, e, KeyspaceData, "k", "v1")
		mustPut(t, e, KeyspaceData, "k", "v2")
		wantGet(t, e, KeyspaceData, "k", "v2")

		if err := Delete(e, KeyspaceData, []byte("k"), WriteOptions{Sync: true}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantNotFound(t, e, KeyspaceData, "k")
		if err := Delete(e, KeyspaceData, []byte("absent"), WriteOptions{}); err != nil {
			t.Fatalf("Delete of absent key: %v", err)
		}

		mustPut(t, e, KeyspaceData, "empty", "")
		if v, err := e.Get(KeyspaceData, []byte("empty")); err != nil || v == nil || len(v) != 0 {
			t.Fatalf("Get of empty value = %#v, %v; want empty non-nil slice", v, err)
		}
	})
}

func TestEngineGetReturnsCopy(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		mustPut(t, e, KeyspaceData, "k", "value")
		v, err := e.Get(KeyspaceData, []byte("k"))
		if err != nil {
			t.Fatal(err)
		}
		copy(v, "XXXXX")
		wantGet(t, e, KeyspaceData, "k", "value")
	})
}

func TestEngineKeyspacesIsolated(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		mustPut(t, e, KeyspaceData, "k", "data")
		mustPut(t, e, KeyspaceHints, "k", "hint")
		mustPut(t, e, KeyspaceMeta, "k", "meta")
		mustPut(t, e, KeyspaceData, "\xff\xff", "last data")
		mustPut(t, e, KeyspaceHints, "\x00", "first hint")
		wantGet(t, e, KeyspaceData, "k", "data")
		wantGet(t, e, KeyspaceHints, "k", "hint")
		wantGet(t, e, KeyspaceMeta, "k", "meta")
		wantNotFound(t, e, KeyspaceMeta, "\x00")

		wantKVs(t, "data scan", mustScan(t, e, KeyspaceData, Range{}),
			kv{"k", "data"}, kv{"\xff\xff", "last data"})
		wantKVs(t, "hints scan", mustScan(t, e, KeyspaceHints, Range{}),
			kv{"\x00", "first hint"}, kv{"k", "hint"})
		wantKVs(t, "meta scan", mustScan(t, e, KeyspaceMeta, Range{Start: []byte("a")}),
			kv{"k", "meta"})

		if err := Delete(e, KeyspaceHints, []byte("k"), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		wantGet(t, e, KeyspaceData, "k", "data")
		wantNotFound(t, e, KeyspaceHints, "k")
	})
}

func TestEngineBatchAppliesInOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		mustPut(t, e, KeyspaceMeta, "gone", "x")
		b := NewBatch()
		b.Put(KeyspaceData, []byte("k"), []byte("v1"))
		b.Delete(KeyspaceData, []byte("k"))
		b.Put(KeyspaceData, []byte("k"), []byte("v2"))
		b.Put(KeyspaceHints, []byte("j"), []byte("x"))
		b.Delete(KeyspaceHints, []byte("j"))
		b.Delete(KeyspaceMeta, []byte("gone"))
		if b.Len() != 6 {
			t.Fatalf("Len = %d, want 6", b.Len())
		}
		if err := e.Write(b, WriteOptions{Sync: true}); err != nil {
			t.Fatal(err)
		}
		wantGet(t, e, KeyspaceData, "k", "v2")
		wantNotFound(t, e, KeyspaceHints, "j")
		wantNotFound(t, e, KeyspaceMeta, "gone")

		b.Reset()
		if b.Len() != 0 {
			t.Fatalf("Len after Reset = %d", b.Len())
		}
		if err := e.Write(b, WriteOptions{}); err != nil {
			t.Fatalf("empty batch: %v", err)
		}
		b.Put(KeyspaceData, []byte("after"), []byte("reset"))
		if err := e.Write(b, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		wantKVs(t, "data", mustScan(t, e, KeyspaceData, Range{}), kv{"after", "reset"}, kv{"k", "v2"})
	})
}

func TestEngineBatchCopiesArguments(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		key, value := []byte("key"), []byte("value")
		b := NewBatch()
		b.Put(KeyspaceData, key, value)
		copy(key, "KEY")
		copy(value, "VALUE")
		if err := e.Write(b, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		copy(value, "XXXXX") // the engine must not keep the caller's slice either
		wantGet(t, e, KeyspaceData, "key", "value")
		wantNotFound(t, e, KeyspaceData, "KEY")
	})
}

func TestEngineBatchWithBadRecordAppliesNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		b := NewBatch()
		b.Put(KeyspaceData, []byte("a"), []byte("1"))
		b.Put(Keyspace('x'), []byte("b"), []byte("2"))
		b.Put(KeyspaceData, nil, []byte("3"))
		b.Put(KeyspaceData, []byte("c"), []byte("4"))
		err := e.Write(b, WriteOptions{})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "0x78") {
			t.Fatalf("Write = %v, want ErrInvalid naming keyspace 0x78", err)
		}
		wantNotFound(t, e, KeyspaceData, "a")
		wantNotFound(t, e, KeyspaceData, "c")

		b.Reset()
		b.Put(KeyspaceData, []byte("a"), []byte("1"))
		if err := e.Write(b, WriteOptions{}); err != nil {
			t.Fatalf("Write after Reset: %v", err)
		}
		wantGet(t, e, KeyspaceData, "a", "1")
	})
}

func TestEngineInvalidArguments(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		wantInvalid := func(what string, err error, mention string) {
			t.Helper()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), mention) {
				t.Errorf("%s: %v, want ErrInvalid mentioning %q", what, err, mention)
			}
		}
		_, err := e.Get(Keyspace('x'), []byte("k"))
		wantInvalid("Get unknown keyspace", err, "unknown keyspace 0x78")
		_, err = e.Get(Keyspace(0), []byte("k"))
		wantInvalid("Get keyspace 0", err, "unknown keyspace 0x00")
		_, err = e.Get(KeyspaceData, nil)
		wantInvalid("Get nil key", err, "empty key")
		_, err = e.Get(KeyspaceData, []byte{})
		wantInvalid("Get empty key", err, "empty key")
		wantInvalid("Write nil batch", e.Write(nil, WriteOptions{}), "nil batch")
		wantInvalid("Put empty key", Put(e, KeyspaceHints, nil, []byte("v"), WriteOptions{}), "empty key")
		wantInvalid("Delete empty key", Delete(e, KeyspaceHints, nil, WriteOptions{}), "empty key")
		wantInvalid("Put unknown keyspace", Put(e, Keyspace('D'), []byte("k"), nil, WriteOptions{}), "0x44")

		mustPut(t, e, KeyspaceData, "k", "v")
		it := e.NewIterator(Keyspace('x'), Range{})
		if it.Next() {
			t.Error("iterator over unknown keyspace has an entry")
		}
		wantInvalid("iterator unknown keyspace", it.Error(), "0x78")
		_ = it.Close()

		it = e.NewIterator(KeyspaceData, Range{Start: []byte("b"), Limit: []byte("a")})
		if it.Next() {
			t.Error("iterator over inverted range has an entry")
		}
		wantInvalid("iterator inverted range", it.Error(), "after limit")
		_ = it.Close()
	})
}

func TestEngineIteratorRanges(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		for _, k := range []string{"a", "b", "c", "d"} {
			mustPut(t, e, KeyspaceData, k, k+k)
		}
		r := func(start, limit string) Range {
			var rg Range
			if start != "-" {
				rg.Start = []byte(start)
			}
			if limit != "-" {
				rg.Limit = []byte(limit)
			}
			return rg
		}
		for _, tc := range []struct {
			r    Range
			want string
		}{
			{r("-", "-"), "abcd"},
			{r("", ""), ""},
			{r("b", "d"), "bc"},
			{r("b", "-"), "bcd"},
			{r("-", "c"), "ab"},
			{r("", "a"), ""},
			{r("b", "b"), ""},
			{r("bb", "c\x00"), "c"},
			{r("d\x00", "-"), ""},
			{r("a", "\xff\xff"), "abcd"},
		} {
			var got string
			for _, e := range mustScan(t, e, KeyspaceData, tc.r) {
				if e.value != e.key+e.key {
					t.Errorf("value of %q = %q", e.key, e.value)
				}
				got += e.key
			}
			if got != tc.want {
				t.Errorf("scan %q..%q = %q, want %q", tc.r.Start, tc.r.Limit, got, tc.want)
			}
		}
	})
}

func TestEngineIteratorSnapshot(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		mustPut(t, e, KeyspaceData, "a", "1")
		mustPut(t, e, KeyspaceData, "b", "2")
		it := e.NewIterator(KeyspaceData, Range{})
		defer it.Close()

		mustPut(t, e, KeyspaceData, "c", "3")
		mustPut(t, e, KeyspaceData, "b", "changed")
		if err := Delete(e, KeyspaceData, []byte("a"), WriteOptions{}); err != nil {
			t.Fatal(err)
		}

		var got []kv
		for it.Next() {
			got = append(got, kv{string(it.Key()), string(it.Value())})
			mustPut(t, e, KeyspaceData, "z", "written during iteration")
		}
		if err := it.Error(); err != nil {
			t.Fatal(err)
		}
		wantKVs(t, "snapshot", got, kv{"a", "1"}, kv{"b", "2"})
		wantKVs(t, "after", mustScan(t, e, KeyspaceData, Range{}),
			kv{"b", "changed"}, kv{"c", "3"}, kv{"z", "written during iteration"})
	})
}

func TestEngineIteratorCopies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		var want []kv
		for i := range 50 {
			k, v := fmt.Sprintf("key%03d", i), strings.Repeat(fmt.Sprint(i), i+1)
			mustPut(t, e, KeyspaceHints, k, v)
			want = append(want, kv{k, v})
		}
		// scan keeps every Key and Value slice across later Next calls.
		wantKVs(t, "scan", mustScan(t, e, KeyspaceHints, Range{}), want...)

		it := e.NewIterator(KeyspaceHints, Range{})
		defer it.Close()
		if !it.Next() {
			t.Fatal(it.Error())
		}
		copy(it.Key(), "XXXXXX")
		copy(it.Value(), "XXXXXX")
		wantGet(t, e, KeyspaceHints, "key000", "0")
		if !it.Next() || string(it.Key()) != "key001" || string(it.Value()) != "11" {
			t.Fatalf("second entry %q, %v", it.Key(), it.Error())
		}
	})
}

func TestEngineIteratorClose(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		mustPut(t, e, KeyspaceData, "a", "1")
		mustPut(t, e, KeyspaceData, "b", "2")
		it := e.NewIterator(KeyspaceData, Range{})
		if !it.Next() {
			t.Fatal(it.Error())
		}
		if err := it.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if it.Next() {
			t.Fatal("Next after Close returned true")
		}
		if it.Key() != nil || it.Value() != nil {
			t.Fatalf("Key, Value after Close = %q, %q", it.Key(), it.Value())
		}
		if err := it.Error(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Error after Close = %v, want ErrClosed", err)
		}
		if err := it.Close(); !errors.Is(err, ErrClosed) {
			t.Fatalf("second Close = %v, want ErrClosed", err)
		}

		// An exhausted iterator stays exhausted, without error.
		it = e.NewIterator(KeyspaceData, Range{Start: []byte("b")})
		if !it.Next() || it.Next() || it.Next() {
			t.Fatal("want exactly one entry")
		}
		if it.Key() != nil || it.Error() != nil {
			t.Fatalf("exhausted iterator: Key %q, Error %v", it.Key(), it.Error())
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestEngineClosed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		mustPut(t, e, KeyspaceData, "a", "1")
		mustPut(t, e, KeyspaceData, "b", "2")
		open := e.NewIterator(KeyspaceData, Range{})
		if !open.Next() {
			t.Fatal(open.Error())
		}
		exhausted := e.NewIterator(KeyspaceData, Range{Start: []byte("z")})
		if exhausted.Next() {
			t.Fatal("entry past the end")
		}
		unstarted := e.NewIterator(KeyspaceMeta, Range{})

		if err := e.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		wantClosed := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s after Close = %v, want ErrClosed", what, err)
			}
		}
		_, err := e.Get(KeyspaceData, []byte("a"))
		wantClosed("Get", err)
		wantClosed("Write", e.Write(NewBatch(), WriteOptions{}))
		wantClosed("Put", Put(e, KeyspaceData, []byte("a"), nil, WriteOptions{Sync: true}))
		wantClosed("Delete", Delete(e, KeyspaceData, []byte("a"), WriteOptions{}))
		it := e.NewIterator(KeyspaceData, Range{})
		if it.Next() {
			t.Error("new iterator on closed engine has an entry")
		}
		wantClosed("NewIterator", it.Error())
		wantClosed("iterator Close", it.Close())
		wantClosed("second Close", e.Close())

		if open.Next() {
			t.Error("open iterator advanced after engine Close")
		}
		wantClosed("open iterator Error", open.Error())
		wantClosed("open iterator Close", open.Close())
		if unstarted.Next() {
			t.Error("unstarted iterator advanced after engine Close")
		}
		wantClosed("unstarted iterator Close", unstarted.Close())
		if exhausted.Next() {
			t.Error("exhausted iterator advanced")
		}
		if err := exhausted.Close(); err != nil {
			t.Errorf("Close of iterator exhausted before engine Close = %v", err)
		}
	})
}

func TestEngineConcurrent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		const writers, perWriter = 4, 100
		var wg sync.WaitGroup
		errs := make(chan error, writers*2)
		for w := range writers {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					k := fmt.Appendf(nil, "w%d-%03d", w, i)
					if err := Put(e, KeyspaceData, k, k, WriteOptions{}); err != nil {
						errs <- err
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				for range 10 {
					got, err := scan(e, KeyspaceData, Range{})
					if err != nil {
						errs <- err
						return
					}
					for i, e := range got {
						if e.key != e.value || (i > 0 && got[i-1].key >= e.key) {
							errs <- fmt.Errorf("bad scan entry %d: %q", i, e)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if got := mustScan(t, e, KeyspaceData, Range{}); len(got) != writers*perWriter {
			t.Fatalf("%d entries, want %d", len(got), writers*perWriter)
		}
	})
}

func TestEngineConcurrentClose(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e Engine) {
		mustPut(t, e, KeyspaceData, "k", "v")
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for g := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for {
					var err error
					switch g {
					case 0:
						_, err = e.Get(KeyspaceData, []byte("k"))
					case 1:
						err = Put(e, KeyspaceData, []byte("k"), []byte("v"), WriteOptions{})
					case 2:
						_, err = scan(e, KeyspaceData, Range{})
					}
					if errors.Is(err, ErrClosed) {
						return
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		close(start)
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("operation racing Close: %v, want nil or ErrClosed", err)
		}
	})
}
