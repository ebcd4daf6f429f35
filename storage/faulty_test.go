package storage

import (
	"errors"
	"strings"
	"testing"
)

var errDisk = errors.New("disk error")

func TestFaultyFailedWriteAppliesNothing(t *testing.T) {
	for _, inner := range []struct {
		name string
		open func(t *testing.T) Engine
	}{
		{"memory", func(*testing.T) Engine { return NewMemory() }},
		{"leveldb", func(t *testing.T) Engine { return openTestLevelDB(t, t.TempDir()) }},
	} {
		t.Run(inner.name, func(t *testing.T) {
			full := FailOps(ErrNoSpace, OpWrite)
			f := NewFaulty(inner.open(t), full)
			defer f.Close()

			b := NewBatch()
			b.Put(KeyspaceHints, []byte("h"), []byte("1"))
			b.Put(KeyspaceData, []byte("d"), []byte("2"))
			b.Delete(KeyspaceMeta, []byte("m"))
			err := f.Write(b, WriteOptions{Sync: true})
			if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "write") || !strings.Contains(err.Error(), "hints") {
				t.Fatalf("Write on a full disk = %v, want ErrNoSpace naming the op and keyspace", err)
			}
			// Reads still work while the disk is full, and see nothing.
			wantNotFound(t, f, KeyspaceHints, "h")
			wantNotFound(t, f, KeyspaceData, "d")
			if err := Put(f, KeyspaceMeta, []byte("m"), nil, WriteOptions{}); !errors.Is(err, ErrNoSpace) {
				t.Fatalf("Put on a full disk = %v", err)
			}

			full.SetEnabled(false) // space freed
			if full.Enabled() {
				t.Fatal("Enabled after SetEnabled(false)")
			}
			if err := f.Write(b, WriteOptions{}); err != nil {
				t.Fatalf("Write after space freed: %v", err)
			}
			wantGet(t, f, KeyspaceHints, "h", "1")
			wantGet(t, f, KeyspaceData, "d", "2")

			full.SetEnabled(true)
			if err := Delete(f, KeyspaceData, []byte("d"), WriteOptions{}); !errors.Is(err, ErrNoSpace) {
				t.Fatalf("Delete after the disk filled again = %v", err)
			}
			wantGet(t, f, KeyspaceData, "d", "2")
		})
	}
}

func TestFailAfter(t *testing.T) {
	f := NewFaulty(NewMemory(), FailAfter(3, OpGet, errDisk))
	defer f.Close()
	mustPut(t, f, KeyspaceData, "k", "v")
	for call := 1; call <= 6; call++ {
		_, err := f.Get(KeyspaceData, []byte("k"))
		if fail := call >= 3; fail != errors.Is(err, errDisk) || (!fail && err != nil) {
			t.Fatalf("Get call %d = %v, want failure %v", call, err, fail)
		}
		// Other operations are neither failed nor counted.
		mustPut(t, f, KeyspaceData, "k", "v")
		if _, err := scan(f, KeyspaceData, Range{}); err != nil {
			t.Fatalf("scan after Get call %d: %v", call, err)
		}
	}

	every := FailAfter(0, OpWrite, errDisk)
	for range 3 {
		if err := every.MaybeError(OpWrite, KeyspaceData); err != errDisk {
			t.Fatalf("FailAfter(0) = %v, want errDisk on every call", err)
		}
	}
}

func TestFailOpsAllOps(t *testing.T) {
	s := FailOps(errDisk)
	f := NewFaulty(NewMemory(), s)
	defer f.Close()
	if _, err := f.Get(KeyspaceData, []byte("k")); !errors.Is(err, errDisk) {
		t.Errorf("Get = %v", err)
	}
	if err := f.Write(NewBatch(), WriteOptions{}); !errors.Is(err, errDisk) {
		t.Errorf("Write = %v", err)
	}
	it := f.NewIterator(KeyspaceMeta, Range{})
	if it.Next() || !errors.Is(it.Error(), errDisk) || !errors.Is(it.Close(), errDisk) {
		t.Errorf("iterator: Error %v", it.Error())
	}
	s.SetEnabled(false)
	mustPut(t, f, KeyspaceData, "k", "v")
	wantGet(t, f, KeyspaceData, "k", "v")
}

func TestFaultyIteratorFailsMidway(t *testing.T) {
	f := NewFaulty(NewMemory(), FailAfter(3, OpIterNext, errDisk))
	defer f.Close()
	for _, k := range []string{"a", "b", "c", "d"} {
		mustPut(t, f, KeyspaceData, k, k)
	}
	it := f.NewIterator(KeyspaceData, Range{})
	var got []string
	for it.Next() {
		got = append(got, string(it.Key()))
	}
	if strings.Join(got, "") != "ab" || !errors.Is(it.Error(), errDisk) {
		t.Fatalf("iterated %q, error %v; want a, b then errDisk", got, it.Error())
	}
	if it.Key() != nil || it.Value() != nil {
		t.Fatalf("Key, Value after fault = %q, %q", it.Key(), it.Value())
	}
	if err := it.Close(); !errors.Is(err, errDisk) {
		t.Fatalf("Close = %v, want errDisk", err)
	}
	if err := it.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
}

func TestFaultyClose(t *testing.T) {
	mem := NewMemory()
	f := NewFaulty(mem, FailOps(errDisk))
	if err := f.Close(); err != nil {
		t.Fatalf("Close = %v; Close is never faulted", err)
	}
	if _, err := mem.Get(KeyspaceData, []byte("k")); !errors.Is(err, ErrClosed) {
		t.Fatalf("inner engine not closed: %v", err)
	}
	if err := f.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
}

func TestRandomErrors(t *testing.T) {
	const calls = 10000
	run := func(seed int64, p float64) (fails int, pattern []bool) {
		inj := RandomErrors(seed, p, errDisk)
		for i := range calls {
			err := inj.MaybeError(Op(1+i%4), KeyspaceData)
			if err != nil && err != errDisk {
				t.Fatalf("MaybeError = %v", err)
			}
			pattern = append(pattern, err != nil)
			if err != nil {
				fails++
			}
		}
		return fails, pattern
	}
	if n, _ := run(1, 0); n != 0 {
		t.Errorf("p=0: %d failures", n)
	}
	if n, _ := run(1, 1); n != calls {
		t.Errorf("p=1: %d failures, want %d", n, calls)
	}
	n1, p1 := run(42, 0.1)
	n2, p2 := run(42, 0.1)
	_, p3 := run(43, 0.1)
	if n1 != n2 || bitString(p1) != bitString(p2) {
		t.Errorf("same seed, different faults")
	}
	if bitString(p1) == bitString(p3) {
		t.Errorf("different seeds, same faults")
	}
	if n1 < calls/20 || n1 > calls/5 { // expect about 1000
		t.Errorf("p=0.1: %d failures of %d", n1, calls)
	}
}

func bitString(bits []bool) string {
	var sb strings.Builder
	for _, b := range bits {
		if b {
			sb.WriteByte('1')
		} else {
			sb.WriteByte('0')
		}
	}
	return sb.String()
}

func TestInjectorFuncAndOpString(t *testing.T) {
	var seen []string
	f := NewFaulty(NewMemory(), InjectorFunc(func(op Op, ks Keyspace) error {
		seen = append(seen, op.String()+" "+ks.String())
		return nil
	}))
	defer f.Close()
	b := NewBatch()
	b.Put(KeyspaceMeta, []byte("k"), []byte("v"))
	b.Put(KeyspaceData, []byte("k"), []byte("v"))
	if err := f.Write(b, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	wantGet(t, f, KeyspaceMeta, "k", "v")
	if _, err := scan(f, KeyspaceHints, Range{}); err != nil {
		t.Fatal(err)
	}
	want := "write meta,get meta,iterate hints,iterator next hints"
	if got := strings.Join(seen, ","); got != want {
		t.Fatalf("injector saw %q, want %q", got, want)
	}
	if s := Op(99).String(); s != "Op(99)" {
		t.Errorf("Op(99).String() = %q", s)
	}
	if s := Keyspace('x').String(); s != "Keyspace(0x78)" {
		t.Errorf("Keyspace('x').String() = %q", s)
	}
}
