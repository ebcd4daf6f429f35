package cluster

import (
	"errors"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/ring"
)

func good() Tags {
	return Tags{Addr: "127.0.0.1:8946", Weight: 2, Zone: "rack-1", Partitions: 64, N: 3, Protocol: 1}
}

func TestTagsRoundTrip(t *testing.T) {
	for _, tg := range []Tags{good(), {Addr: "[::1]:1", Weight: 1, Partitions: 1024, N: 3, Protocol: 7, Leaving: true}} {
		m, err := tg.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeTags(m)
		if err != nil {
			t.Fatal(err)
		}
		if back != tg {
			t.Fatalf("round trip %+v -> %+v", tg, back)
		}
	}
}

func TestTagErrorsNameTheField(t *testing.T) {
	bad := map[string]Tags{
		"addr must be host:port":     {Addr: "nohost", Weight: 1, Partitions: 64, N: 3, Protocol: 1},
		"weight must be from 1":      {Addr: "a:1", Weight: 0, Partitions: 64, N: 3, Protocol: 1},
		"partitions must be a power": {Addr: "a:1", Weight: 1, Partitions: 48, N: 3, Protocol: 1},
		"protocol version":           {Addr: "a:1", Weight: 1, Partitions: 64, N: 3},
		"n must be from 1 to 16":     {Addr: "a:1", Weight: 1, Partitions: 64, N: 17, Protocol: 1},
		"serf allows 512":            {Addr: "a:1", Weight: 1, Partitions: 64, N: 3, Protocol: 1, Zone: strings.Repeat("z", 600)},
	}
	for want, tg := range bad {
		if _, err := tg.Encode(); !errors.Is(err, ErrBadTags) || !strings.Contains(err.Error(), want) {
			t.Errorf("Encode(%+v) = %v, want %q", tg, err, want)
		}
	}
	m, _ := good().Encode()
	for tag, want := range map[string]string{"w": `tag "w" is missing`, "q": `tag "q" is missing`, "n": `tag "n" is missing`, "pv": `"pv" is missing`} {
		c := clone(m)
		delete(c, tag)
		if _, err := DecodeTags(c); !errors.Is(err, ErrBadTags) || !strings.Contains(err.Error(), want) {
			t.Errorf("without %s: %v", tag, err)
		}
	}
	c := clone(m)
	c["w"] = "heavy"
	if _, err := DecodeTags(c); err == nil || !strings.Contains(err.Error(), `"w" must be`) {
		t.Errorf("bad weight: %v", err)
	}
	c = clone(m)
	c["hash"] = "sha1"
	if _, err := DecodeTags(c); err == nil || !strings.Contains(err.Error(), "md5") {
		t.Errorf("other hash: %v", err)
	}
}

func clone(m map[string]string) map[string]string {
	c := map[string]string{}
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestEncodedSizeMatchesMsgpack(t *testing.T) {
	// magic(1) + fixmap(1) + fixraw "a"(2) + raw16 of 40 bytes (3+40) = 47
	if n := EncodedSize(map[string]string{"a": strings.Repeat("x", 40)}); n != 47 {
		t.Fatalf("EncodedSize = %d, want 47", n)
	}
	// A longest-allowed-ish realistic tag set stays well under the limit.
	tg := good()
	tg.Addr = "node-with-a-long-host-name.rack-17.dc-west.example.internal:65535"
	tg.Zone = "dc-west/rack-17"
	m, err := tg.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if n := EncodedSize(m); n > 200 {
		t.Fatalf("realistic tags take %d bytes", n)
	}
}

func TestCompatibleRefusesOtherQ(t *testing.T) {
	other := good()
	other.Partitions = 128
	err := Compatible(good(), other, "n9")
	if !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "has 128 partitions, this node 64") {
		t.Fatalf("Compatible = %v", err)
	}
	other = good()
	other.N = 5
	if err := Compatible(good(), other, "n9"); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "replicates 5 times") {
		t.Fatalf("Compatible = %v", err)
	}
	other = good()
	other.Protocol = 2
	if err := Compatible(good(), other, "n9"); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "protocol 2") {
		t.Fatalf("Compatible = %v", err)
	}
	if err := Compatible(good(), good(), "n1"); err != nil {
		t.Fatal(err)
	}
}

func TestView(t *testing.T) {
	tags := func(mod func(*Tags)) map[string]string {
		tg := good()
		if mod != nil {
			mod(&tg)
		}
		m, err := tg.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	nodes := []Node{
		{Name: "alive", Status: StatusAlive, Tags: tags(nil)},
		{Name: "failed", Status: StatusFailed, Tags: tags(nil)},
		{Name: "leaving", Status: StatusLeaving, Tags: tags(nil)},
		{Name: "handing-off", Status: StatusAlive, Tags: tags(func(t *Tags) { t.Leaving = true })},
		{Name: "left", Status: StatusLeft, Tags: tags(nil)},
		{Name: "other-q", Status: StatusAlive, Tags: tags(func(t *Tags) { t.Partitions = 256 })},
		{Name: "garbage", Status: StatusAlive, Tags: map[string]string{"addr": "x"}},
	}
	members, refused := View(good(), nodes)
	want := map[string]ring.State{"alive": ring.Up, "failed": ring.Down, "leaving": ring.Leaving, "handing-off": ring.Leaving}
	if len(members) != len(want) {
		t.Fatalf("members %v", members)
	}
	for _, m := range members {
		if s, ok := want[m.Name]; !ok || s != m.State || m.Weight != 2 || m.Zone != "rack-1" {
			t.Fatalf("member %+v", m)
		}
	}
	if len(refused) != 2 || refused[0].Name != "other-q" || !errors.Is(refused[0].Err, ErrIncompatible) || !errors.Is(refused[1].Err, ErrBadTags) {
		t.Fatalf("refused %v", refused)
	}
	if _, err := ring.New(ring.DefaultConfig(), members); err != nil {
		t.Fatalf("a view must build a ring: %v", err)
	}
}
