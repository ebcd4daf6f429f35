package membership

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/cluster"
	"github.com/hashicorp/go-msgpack/v2/codec"
)

// wait is the deadline for anything gossip must achieve with Fast timings.
const wait = 5 * time.Second

// tags returns real encoded tags for a node whose actor port is port.
func tags(t *testing.T, port, weight int) map[string]string {
	t.Helper()
	m, err := cluster.Tags{Addr: fmt.Sprintf("127.0.0.1:%d", port), Weight: weight, Partitions: 64, N: 3, Protocol: 1}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// start runs a Fast member on a free loopback port, shut down at cleanup.
func start(t *testing.T, name string, tg map[string]string, edit ...func(*Config)) *Membership {
	t.Helper()
	cfg := Config{Name: name, BindAddr: "127.0.0.1:0", Tags: tg, Fast: true}
	for _, e := range edit {
		e(&cfg)
	}
	m, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(); err != nil {
			t.Errorf("Shutdown %s: %v", name, err)
		}
	})
	return m
}

func join(t *testing.T, m *Membership, seeds ...string) {
	t.Helper()
	if n, err := m.Join(seeds); err != nil || n < 1 {
		t.Fatalf("Join(%v) = %d, %v", seeds, n, err)
	}
}

// eventually polls cond until it returns "" or the deadline passes.
func eventually(t *testing.T, d time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sees reports "" when m sees node name with status st and tags tg (tg nil:
// any tags).
func sees(m *Membership, name string, st cluster.Status, tg map[string]string) func() string {
	return func() string {
		for _, n := range m.Members() {
			if n.Name != name {
				continue
			}
			if n.Status != st || (tg != nil && !maps.Equal(n.Tags, tg)) {
				return fmt.Sprintf("%s sees %s as status %d tags %v; want status %d tags %v", m.LocalAddr(), name, n.Status, n.Tags, st, tg)
			}
			return ""
		}
		return fmt.Sprintf("%s does not see %s", m.LocalAddr(), name)
	}
}

func TestJoinSeesAllAliveWithTags(t *testing.T) {
	t.Parallel()
	want := map[string]map[string]string{"a": tags(t, 8001, 1), "b": tags(t, 8002, 2), "c": tags(t, 8003, 3)}
	a := start(t, "a", want["a"])
	// b advertises port 0: the picked port.
	b := start(t, "b", want["b"], func(c *Config) { c.AdvertiseAddr = "127.0.0.1:0" })
	c := start(t, "c", want["c"])
	for _, m := range []*Membership{a, b, c} {
		if strings.HasSuffix(m.LocalAddr(), ":0") || !strings.HasPrefix(m.LocalAddr(), "127.0.0.1:") {
			t.Fatalf("LocalAddr = %q, want 127.0.0.1 and the picked port", m.LocalAddr())
		}
	}
	select { // a's own join at Start
	case <-a.Changes():
	case <-time.After(wait):
		t.Fatal("Changes did not fire for a's own join")
	}
	join(t, b, a.LocalAddr())
	select {
	case <-a.Changes():
	case <-time.After(wait):
		t.Fatal("Changes did not fire on a when b joined")
	}
	join(t, c, a.LocalAddr(), c.LocalAddr()) // our own address among seeds is fine
	for _, m := range []*Membership{a, b, c} {
		eventually(t, wait, func() string {
			got := m.Members()
			if len(got) != 3 {
				return fmt.Sprintf("%s sees %d members: %v", m.LocalAddr(), len(got), got)
			}
			for i, n := range got {
				if wantName := string(rune('a' + i)); n.Name != wantName {
					return fmt.Sprintf("members not sorted: %v", got)
				}
				if msg := sees(m, n.Name, cluster.StatusAlive, want[n.Name])(); msg != "" {
					return msg
				}
			}
			return ""
		})
	}
	// Members returns copies.
	a.Members()[0].Tags["addr"] = "mutated"
	if msg := sees(a, "a", cluster.StatusAlive, want["a"])(); msg != "" {
		t.Fatal("Members tags are shared with serf:", msg)
	}

	// SetTags on b is seen by the others, and signals Changes.
	for len(a.Changes()) > 0 {
		<-a.Changes()
	}
	newTags := tags(t, 9002, 5)
	if err := b.SetTags(newTags); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Changes():
	case <-time.After(wait):
		t.Fatal("Changes did not fire on a when b updated its tags")
	}
	for _, m := range []*Membership{a, b, c} {
		eventually(t, wait, sees(m, "b", cluster.StatusAlive, newTags))
	}
}

func TestShutdownIsFailedLeaveIsLeft(t *testing.T) {
	t.Parallel()
	a := start(t, "a", tags(t, 8001, 1))
	b := start(t, "b", tags(t, 8002, 1))
	c := start(t, "c", tags(t, 8003, 1))
	join(t, b, a.LocalAddr())
	join(t, c, a.LocalAddr())
	for _, m := range []*Membership{a, b} {
		eventually(t, wait, sees(m, "c", cluster.StatusAlive, nil))
	}

	t0 := time.Now()
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Membership{a, b} {
		eventually(t, wait, sees(m, "c", cluster.StatusFailed, nil))
	}
	t.Logf("crash seen as failed after %v", time.Since(t0))
	if err := c.Shutdown(); err != nil {
		t.Fatal("second Shutdown:", err)
	}

	t0 = time.Now()
	if err := b.Leave(); err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, sees(a, "b", cluster.StatusLeft, nil))
	t.Logf("leave seen as left after %v", time.Since(t0))
}

func TestRestartOnNewPortIsAccepted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		waitForFail bool
	}{
		{"after failure detected", true},
		{"before failure detected", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := start(t, "a", tags(t, 8001, 1))
			b := start(t, "b", tags(t, 8002, 1))
			c := start(t, "c", tags(t, 8003, 1))
			join(t, b, a.LocalAddr())
			join(t, c, a.LocalAddr())
			for _, m := range []*Membership{a, b} {
				eventually(t, wait, sees(m, "c", cluster.StatusAlive, nil))
			}
			old := c.LocalAddr()
			if err := c.Shutdown(); err != nil {
				t.Fatal(err)
			}
			if tc.waitForFail {
				for _, m := range []*Membership{a, b} {
					eventually(t, wait, sees(m, "c", cluster.StatusFailed, nil))
				}
			}
			t0 := time.Now()
			newTags := tags(t, 9003, 1) // tells the new incarnation apart
			c2 := start(t, "c", newTags)
			if c2.LocalAddr() == old {
				t.Fatalf("restarted on the same address %s", old)
			}
			join(t, c2, a.LocalAddr())
			for _, m := range []*Membership{a, b} {
				eventually(t, 10*time.Second, sees(m, "c", cluster.StatusAlive, newTags))
			}
			t.Logf("restart accepted after %v", time.Since(t0))
		})
	}
}

func TestSnapshotRejoinsPreviousPeers(t *testing.T) {
	t.Parallel()
	snap := filepath.Join(t.TempDir(), "serf.snapshot")
	a := start(t, "a", tags(t, 8001, 1))
	// serf records a join in the snapshot on a goroutine of its own, and
	// loses the record when Shutdown comes first (a race in serf's
	// Snapshotter, seen under load): then the snapshot names no peer and
	// there is nothing to rejoin. Start again until it names a.
	for attempt := 1; ; attempt++ {
		b := start(t, "b", tags(t, 8002, 1), func(c *Config) { c.SnapshotPath = snap })
		join(t, b, a.LocalAddr())
		eventually(t, wait, sees(a, "b", cluster.StatusAlive, nil))
		if err := b.Shutdown(); err != nil {
			t.Fatal(err)
		}
		sb, err := os.ReadFile(snap)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(sb), "alive: a "+a.LocalAddr()) {
			break
		}
		if attempt == 5 {
			t.Fatalf("serf's snapshot never recorded a in 5 starts:\n%s", sb)
		}
		t.Logf("attempt %d: serf's snapshot lost the join:\n%s", attempt, sb)
	}
	newTags := tags(t, 9002, 1)
	b2 := start(t, "b", newTags, func(c *Config) { c.SnapshotPath = snap })
	_ = b2 // no Join: the snapshot names a
	eventually(t, 10*time.Second, sees(a, "b", cluster.StatusAlive, newTags))
	eventually(t, wait, sees(b2, "a", cluster.StatusAlive, nil))
}

func TestJoinErrors(t *testing.T) {
	t.Parallel()
	a := start(t, "a", nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()

	n, err := a.Join([]string{dead})
	if n != 0 || !errors.Is(err, ErrJoin) {
		t.Fatalf("Join(unreachable) = %d, %v; want 0 and ErrJoin", n, err)
	}
	if !strings.Contains(err.Error(), dead) {
		t.Errorf("error %q does not name the seed %s", err, dead)
	}
	for _, seeds := range [][]string{nil, {"127.0.0.1"}, {":7946"}, {"127.0.0.1:x"}} {
		if n, err := a.Join(seeds); n != 0 || !errors.Is(err, ErrJoin) {
			t.Errorf("Join(%q) = %d, %v; want ErrJoin", seeds, n, err)
		}
	}
	if _, err := a.Join([]string{"127.0.0.1"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Join without port: %v; want ErrInvalid too", err)
	}
	// One reachable seed among unreachable ones is a success.
	if n, err := a.Join([]string{dead, a.LocalAddr()}); n != 1 || err != nil {
		t.Errorf("Join(dead, self) = %d, %v; want 1, nil", n, err)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	big := map[string]string{"zone": strings.Repeat("z", MaxTagBytes)}
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"Name", func(c *Config) { c.Name = "" }},
		{"BindAddr", func(c *Config) { c.BindAddr = "nonsense" }},
		{"BindAddr", func(c *Config) { c.BindAddr = "localhost:7946" }},
		{"BindAddr", func(c *Config) { c.BindAddr = "127.0.0.1:70000" }},
		{"AdvertiseAddr", func(c *Config) { c.AdvertiseAddr = "10.0.0.1" }},
		{"AdvertiseAddr", func(c *Config) { c.BindAddr = "127.0.0.1:0"; c.AdvertiseAddr = "10.0.0.1:7946" }},
		{"Tags", func(c *Config) { c.Tags = big }},
		{"ReconnectTimeout", func(c *Config) { c.ReconnectTimeout = -time.Second }},
	} {
		cfg := DefaultConfig()
		cfg.Name = "n"
		tc.edit(&cfg)
		err := cfg.validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: validate() = %v; want ErrInvalid naming %s", tc.field, err, tc.field)
		}
		if _, err := Start(cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Start() = %v; want ErrInvalid", tc.field, err)
		}
	}
	cfg := DefaultConfig()
	cfg.Name = "n"
	if err := cfg.validate(); err != nil {
		t.Errorf("DefaultConfig with a Name: %v", err)
	}
	if err := (Config{Name: "n"}).validate(); err != nil {
		t.Errorf("zero Config with a Name: %v", err)
	}
	m := start(t, "a", nil)
	if err := m.SetTags(big); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetTags(oversized) = %v; want ErrInvalid", err)
	}
}

// cluster.EncodedSize, which checkTags applies, measures tags exactly as
// serf encodes them (a magic byte, then go-msgpack's map), across the string
// and map length boundaries; and serf accepts what it accepts.
func TestTagSizeIsSerfs(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 31, 32, 33, 255, 256, 400, 500} {
		for _, entries := range []int{1, 15, 16} {
			tg := map[string]string{"zone": strings.Repeat("z", n)}
			for i := 1; i < entries; i++ {
				tg[fmt.Sprintf("k%02d", i)] = "v"
			}
			var buf bytes.Buffer
			if err := codec.NewEncoder(&buf, &codec.MsgpackHandle{}).Encode(tg); err != nil {
				t.Fatal(err)
			}
			if got, want := cluster.EncodedSize(tg), 1+buf.Len(); got != want {
				t.Fatalf("value %d bytes, %d entries: EncodedSize %d, serf encodes %d", n, entries, got, want)
			}
		}
	}
	for n := 480; n < MaxTagBytes; n++ {
		tg := map[string]string{"zone": strings.Repeat("z", n)}
		if checkTags(tg) != nil {
			break
		}
		m, err := Start(Config{Name: "n", BindAddr: "127.0.0.1:0", Tags: tg})
		if err != nil {
			t.Fatalf("value of %d bytes passes checkTags but serf refuses it: %v", n, err)
		}
		m.Shutdown()
	}
}

func TestNoGoroutinesLeftBehind(t *testing.T) {
	// Not parallel: counts goroutines of this process.
	before := runtime.NumGoroutine()
	func() {
		a, err := Start(Config{Name: "a", BindAddr: "127.0.0.1:0", Fast: true})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Shutdown()
		b, err := Start(Config{Name: "b", BindAddr: "127.0.0.1:0", Fast: true})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Shutdown()
		join(t, b, a.LocalAddr())
		eventually(t, wait, sees(a, "b", cluster.StatusAlive, nil))
	}()
	eventually(t, wait, func() string {
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Sprintf("%d goroutines, %d before", n, before)
		}
		return ""
	})
}
