package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// A full disk (a small tmpfs, as root): a write fails with ErrNoSpace,
// reads go on, and once space returns writes work again without
// reopening the engine by hand; everything acknowledged is there after a
// reopen.
func TestLevelDBFullDiskRecovers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs and fill it (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	l, err := OpenLevelDB(dir+"/db", DefaultLevelDBConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	value := func(i int) []byte {
		b := make([]byte, 16<<10)
		r := rand.New(rand.NewPCG(uint64(i), 1))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		return b
	}
	stored := 0
	var werr error
	for i := range 5000 {
		if werr = Put(l, KeyspaceData, []byte(fmt.Sprint("k", i)), value(i), WriteOptions{Sync: true}); werr != nil {
			break
		}
		stored++
	}
	if !errors.Is(werr, ErrNoSpace) {
		t.Fatalf("after %d writes: %v, want ErrNoSpace", stored, werr)
	}
	t.Logf("full after %d writes: %v", stored, werr)
	for i := range stored {
		v, err := l.Get(KeyspaceData, []byte(fmt.Sprint("k", i)))
		if err != nil || string(v) != string(value(i)) {
			t.Fatalf("read k%d on a full disk: %v", i, err)
		}
	}
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := Put(l, KeyspaceData, []byte("after"), []byte("space returned"), WriteOptions{Sync: true})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still fail 10 s after space returned: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	for i := range stored {
		if v, err := l.Get(KeyspaceData, []byte(fmt.Sprint("k", i))); err != nil || string(v) != string(value(i)) {
			t.Fatalf("k%d after recovery: %v", i, err)
		}
	}

}

// A read-only file system (which cannot be set under open files to test it
// live) is reported as ErrReadOnly, a full one as ErrNoSpace.
func TestWriteErrorsMapToSentinels(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
	}{
		{&os.PathError{Op: "write", Path: "x", Err: syscall.EROFS}, ErrReadOnly},
		{&os.PathError{Op: "open", Path: "x", Err: syscall.EACCES}, ErrReadOnly},
		{&os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}, ErrNoSpace},
	} {
		if got := wrapErr("write", c.err); !errors.Is(got, c.want) {
			t.Errorf("%v maps to %v, want %v", c.err, got, c.want)
		}
	}
}
