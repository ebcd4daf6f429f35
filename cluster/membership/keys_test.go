package membership

import (
	"bytes"
	"errors"
	"testing"

	"github.com/dynamokv/dynamo/cluster"
)

// Gossip encryption: a node with the cluster's key joins; one without a
// key, or with another key, cannot; a key rotates with the old key kept
// second (rolling restarts), and the cluster keeps working through each
// step.
func TestGossipKeys(t *testing.T) {
	t.Parallel()
	old, cur := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16)
	withKeys := func(keys ...[]byte) func(*Config) { return func(c *Config) { c.Keys = keys } }

	a := start(t, "a", nil, withKeys(old))
	b := start(t, "b", nil, withKeys(old))
	join(t, b, a.LocalAddr())
	eventually(t, wait, sees(a, "b", cluster.StatusAlive, nil))

	plain := start(t, "plain", nil)
	if n, err := plain.Join([]string{a.LocalAddr()}); err == nil && n > 0 {
		t.Fatal("a node without the key joined an encrypted cluster")
	}
	wrong := start(t, "wrong", nil, withKeys(bytes.Repeat([]byte{9}, 32)))
	if n, err := wrong.Join([]string{a.LocalAddr()}); err == nil && n > 0 {
		t.Fatal("a node with another key joined")
	}
	for _, m := range a.Members() {
		if m.Name == "plain" || m.Name == "wrong" {
			t.Fatalf("the cluster lists %s", m.Name)
		}
	}

	// Rotation, step 1: a node with the new key second still speaks the old.
	c := start(t, "c", nil, withKeys(old, cur))
	join(t, c, a.LocalAddr())
	eventually(t, wait, sees(a, "c", cluster.StatusAlive, nil))
	// Step 2: a node with the new key first joins a node that has both.
	d := start(t, "d", nil, withKeys(cur, old))
	join(t, d, c.LocalAddr())
	eventually(t, wait, sees(d, "c", cluster.StatusAlive, nil))
	eventually(t, wait, sees(c, "d", cluster.StatusAlive, nil))
	// Step 3: only the new key: reaches d, but not a node with only the old.
	e := start(t, "e", nil, withKeys(cur))
	join(t, e, d.LocalAddr())
	eventually(t, wait, sees(d, "e", cluster.StatusAlive, nil))
	lone := start(t, "lone", nil, withKeys(cur))
	if n, err := lone.Join([]string{b.LocalAddr()}); err == nil && n > 0 {
		t.Fatal("a node with only the new key joined through a node with only the old")
	}
}

func TestGossipKeySizes(t *testing.T) {
	for _, n := range []int{0, 8, 31, 33} {
		err := Config{Name: "a", BindAddr: "127.0.0.1:0", Keys: [][]byte{make([]byte, n)}}.validate()
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("a %d-byte key: %v", n, err)
		}
	}
}
