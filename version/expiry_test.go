package version

import (
	"encoding/hex"
	"errors"
	"math"
	"testing"
	"time"
)

func mustWrite(t *testing.T, local *Set, ctx Context, w Write, actor string) *Set {
	t.Helper()
	s, err := Update(local, ctx, w, actor, w.Timestamp/int64(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func liveAt(s *Set, mode ConflictMode, now int64) []string {
	live, _ := s.Live(mode, now)
	var out []string
	for _, l := range live {
		out = append(out, string(l.Value))
	}
	return out
}

func TestTTLSetsExpiryAndReadsAbsentFromThen(t *testing.T) {
	const at = int64(1_000_000_000)
	s := mustWrite(t, nil, Context{}, Write{Value: []byte("v"), Timestamp: at, TTLNs: int64(time.Second)}, "A")
	sib := s.Siblings()[0]
	if sib.ExpiresAt != at+int64(time.Second) {
		t.Fatalf("ExpiresAt = %d, want %d", sib.ExpiresAt, at+int64(time.Second))
	}
	for _, mode := range []ConflictMode{ModeSiblings, ModeLWW} {
		if got := liveAt(s, mode, sib.ExpiresAt-1); len(got) != 1 {
			t.Fatalf("%v: a read before the expiry shows %v", mode, got)
		}
		if _, found := s.Live(mode, sib.ExpiresAt); found {
			t.Fatalf("%v: a read at the expiry still finds the value", mode)
		}
	}
	since, dead := s.DeadSince(sib.ExpiresAt)
	if !dead || since != sib.ExpiresAt {
		t.Fatalf("DeadSince = %d, %v; want %d, true", since, dead, sib.ExpiresAt)
	}
	if _, dead := s.DeadSince(sib.ExpiresAt - 1); dead {
		t.Fatal("a set is dead before its value expires")
	}
	// Without a TTL nothing expires.
	s2 := mustWrite(t, nil, Context{}, Write{Value: []byte("v"), Timestamp: at}, "A")
	if _, found := s2.Live(ModeSiblings, math.MaxInt64); !found {
		t.Fatal("a value without a ttl expired")
	}
}

func TestSiblingWithoutTTLSurvivesItsExpiredSibling(t *testing.T) {
	const at = int64(1_000_000_000)
	a := mustWrite(t, nil, Context{}, Write{Value: []byte("short"), Timestamp: at, TTLNs: int64(time.Second)}, "A")
	b := mustWrite(t, nil, Context{}, Write{Value: []byte("forever"), Timestamp: at}, "B")
	m := Sync(a, b)
	later := at + int64(time.Hour)
	if got := liveAt(m, ModeSiblings, later); len(got) != 1 || got[0] != "forever" {
		t.Fatalf("after the expiry the read shows %v, want [forever]", got)
	}
	if _, dead := m.DeadSince(later); dead {
		t.Fatal("a set with a live sibling is dead")
	}
	// Merges keep the expired sibling: what a replica stores does not
	// depend on when it merges.
	if m.Len() != 2 || !Equal(m, Sync(b, a)) {
		t.Fatalf("merge dropped or reordered the expired sibling: %v", m.Siblings())
	}
	// LWW: the last write wins, and when it has expired the key is absent
	// although an older value has not.
	newer := mustWrite(t, nil, Context{}, Write{Value: []byte("newer-short"), Timestamp: at + 1, TTLNs: int64(time.Second)}, "C")
	lww := Sync(b, newer)
	if _, found := lww.Live(ModeLWW, later); found {
		t.Fatal("LWW: an expired last write shows an older value")
	}
}

// A coordinated write drops the siblings expired at its time, whatever its
// context covers; its clock covers them, so a merge with a replica that
// still holds them drops them there too.
func TestWriteDropsExpiredSiblingsEverywhere(t *testing.T) {
	const at = int64(1_000_000_000)
	short := mustWrite(t, nil, Context{}, Write{Value: []byte("short"), Timestamp: at, TTLNs: int64(time.Second)}, "A")
	other := mustWrite(t, nil, Context{}, Write{Value: []byte("other"), Timestamp: at}, "B")
	replica := Sync(short, other) // another replica, holding both
	// A blind write after the expiry, at the replica holding both.
	w := mustWrite(t, replica, Context{}, Write{Value: []byte("new"), Timestamp: at + 2*int64(time.Second)}, "A")
	got := map[string]bool{}
	for _, s := range w.Siblings() {
		got[string(s.Value)] = true
	}
	if got["short"] || !got["other"] || !got["new"] {
		t.Fatalf("write after the expiry holds %v, want other and new", got)
	}
	if m := Sync(replica, w); m.Len() != 2 {
		t.Fatalf("merge with a replica still holding the expired sibling: %v", m.Siblings())
	}
	// Before the expiry the same blind write keeps it.
	w = mustWrite(t, replica, Context{}, Write{Value: []byte("new"), Timestamp: at + 1}, "A")
	if w.Len() != 3 {
		t.Fatalf("a write before the expiry dropped a sibling: %v", w.Siblings())
	}
}

func TestWriteTTLRefusals(t *testing.T) {
	cases := []Write{
		{Value: []byte("v"), Timestamp: 1, TTLNs: int64(-time.Second)},
		{Tombstone: true, Timestamp: 1, TTLNs: int64(time.Second)},
		{Value: []byte("v"), Timestamp: math.MaxInt64 - 10, TTLNs: int64(time.Second)},
		{Value: []byte("v"), Timestamp: 0, TTLNs: int64(time.Second)},
	}
	for i, w := range cases {
		if _, err := Update(nil, Context{}, w, "A", 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("case %d: err %v, want ErrInvalid", i, err)
		}
	}
}

func TestExpiryRoundTripsAndIsValidated(t *testing.T) {
	s := mustWrite(t, nil, Context{}, Write{Value: []byte("v"), Timestamp: 5, TTLNs: int64(time.Minute)}, "A")
	b, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(b)
	if err != nil || !Equal(s, back) || back.Siblings()[0].ExpiresAt != 5+int64(time.Minute) {
		t.Fatalf("round trip: %v, %v", back.Siblings(), err)
	}
	p := ToProto(s)
	p.Siblings[0].ExpiresAtNs = -1
	if _, err := FromProto(p); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative expiry: %v", err)
	}
	tomb := ToProto(mustWrite(t, nil, Context{}, Write{Tombstone: true, Timestamp: 5}, "A"))
	tomb.Siblings[0].ExpiresAtNs = 7
	if _, err := FromProto(tomb); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tombstone with an expiry: %v", err)
	}
}

// Two copies of one version that differ only in expiry are different
// versions to anti-entropy, and merge to the same one on both sides.
func TestExpiryIsPartOfTheVersion(t *testing.T) {
	s := mustWrite(t, nil, Context{}, Write{Value: []byte("v"), Timestamp: 5, TTLNs: int64(time.Minute)}, "A")
	p := ToProto(s)
	p.Siblings[0].ExpiresAtNs = 0
	t2, err := FromProto(p)
	if err != nil {
		t.Fatal(err)
	}
	if Digest(s) == Digest(t2) || Equal(s, t2) {
		t.Fatal("expiry is not in the digest or equality")
	}
	p.Siblings[0].ExpiresAtNs = 5 + int64(time.Hour)
	t3, err := FromProto(p)
	if err != nil {
		t.Fatal(err)
	}
	if Digest(s) == Digest(t3) || Equal(s, t3) {
		t.Fatal("two expiries of one value digest alike")
	}
	if !Equal(Sync(s, t2), Sync(t2, s)) {
		t.Fatal("merge of two expiries of one dot depends on the order")
	}
	if Descends(t2, s) == Descends(s, t2) {
		t.Fatal("exactly one copy should descend the other")
	}
}

// Sets without an expiry digest as they did before expiries existed, so
// persisted Merkle trees and mixed-release clusters agree.
func TestDigestOfSetsWithoutExpiryIsUnchanged(t *testing.T) {
	a, _ := Update(nil, Context{}, Write{Value: []byte("v1"), Timestamp: 1000}, "n1@a", 5)
	b, _ := Update(a, Context{}, Write{Value: []byte("v2"), Timestamp: 2000}, "n2@b", 6)
	c, _ := Update(b, b.Context(), Write{Tombstone: true, Timestamp: 3000}, "n1@a", 7)
	// Computed by the release before expiries.
	want := []string{
		"ad73669ad196579cca54a6f64e54d05837dc8d2cf1df2d8497cd6af7f58075c0",
		"e14906492c35c7708da9b8a6946861eabaa6644636952a36ef79f6b756c8af3c",
		"6d42137e20420f730f54d390970679f6ddb6e96798c8ffdfd94f2d223119e5ee",
	}
	for i, s := range []*Set{a, b, c} {
		d := Digest(s)
		if got := hex.EncodeToString(d[:]); got != want[i] {
			t.Errorf("set %d: digest %s, want %s", i, got, want[i])
		}
	}
}

func TestDeadSinceIsTheLatestDeath(t *testing.T) {
	const at = int64(10 * time.Second)
	a := mustWrite(t, nil, Context{}, Write{Value: []byte("x"), Timestamp: at, TTLNs: int64(5 * time.Second)}, "A")
	tomb := mustWrite(t, nil, Context{}, Write{Tombstone: true, Timestamp: at + int64(time.Second)}, "B")
	m := Sync(a, tomb)
	if _, dead := m.DeadSince(at + int64(4*time.Second)); dead {
		t.Fatal("dead before the value expired")
	}
	since, dead := m.DeadSince(at + int64(time.Minute))
	if !dead || since != at+int64(5*time.Second) {
		t.Fatalf("DeadSince = %d, %v; want the expiry %d", since, dead, at+int64(5*time.Second))
	}
	if _, dead := (&Set{}).DeadSince(0); dead {
		t.Fatal("an empty set is dead")
	}
}
