package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Binary is one command, built on first use into a temporary directory.
type Binary struct {
	pkg, name string
	once      sync.Once
	path      string
	err       error
}

// New describes the command in package directory pkg (relative to the
// test's package, e.g. "." or "../cmd/dynamo"), built as name.
func New(pkg, name string) *Binary { return &Binary{pkg: pkg, name: name} }

// Path builds the command the first time and returns its path; a build
// failure fails t.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "dynamo-test-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, b.name)
		if out, err := exec.Command("go", "build", "-o", b.path, b.pkg).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Remove deletes the built command (call it from TestMain after m.Run).
func (b *Binary) Remove() {
	if b.path != "" {
		_ = os.RemoveAll(filepath.Dir(b.path))
	}
}
