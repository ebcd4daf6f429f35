package version

import (
	"errors"
	"slices"
	"testing"

	"github.com/dynamokv/dynamo/internal/testseed"
	"github.com/dynamokv/dynamo/messages"
	"google.golang.org/protobuf/proto"
)

func TestCodecRoundTrips(t *testing.T) {
	rng, _ := testseed.New(t)
	h := runHistory(t, rng, 4, 80)
	for _, s := range h.states {
		b, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if !Equal(back, s) || Digest(back) != Digest(s) {
			t.Fatalf("stored round trip changed the set: %+v -> %+v", s, back)
		}
		ctx, err := DecodeContext(EncodeContext(s.Context()))
		if err != nil {
			t.Fatal(err)
		}
		if !ctx.Clock.equalCounters(s.Context().Clock) || len(ctx.Dots) != 0 {
			t.Fatalf("context round trip: %v -> %v", s.Context(), ctx)
		}
	}
}

func TestDigestIsCanonical(t *testing.T) {
	a := put(t, nil, Context{}, "a", "A")
	b := put(t, nil, Context{}, "b", "B")
	// The same set reached by different merge orders, and sent through the
	// wire with its clock and siblings in reverse order.
	ab, ba := Sync(a, b), Sync(b, a)
	p := ToProto(ab)
	p.Clock[0], p.Clock[1] = p.Clock[1], p.Clock[0]
	p.Siblings[0], p.Siblings[1] = p.Siblings[1], p.Siblings[0]
	p.Clock[0].UpdatedMs += 99 // wall-clock metadata is not part of identity
	shuffled, err := FromProto(p)
	if err != nil {
		t.Fatal(err)
	}
	if Digest(ab) != Digest(ba) || Digest(ab) != Digest(shuffled) {
		t.Fatal("digest depends on order or wall-clock metadata")
	}
	if Digest(ab) == Digest(a) || Digest(Sync(ab, put(t, ab, ab.Context(), "c", "A"))) == Digest(ab) {
		t.Fatal("different sets must have different digests")
	}
	var empty *Set
	if Digest(empty) != Digest(&Set{}) {
		t.Fatal("nil and empty set differ")
	}
}

func TestDecodeContextErrors(t *testing.T) {
	enc := func(p *messages.CausalContext) []byte {
		b, err := proto.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	long := make([]byte, MaxActorLen+1)
	for i := range long {
		long[i] = 'a'
	}
	cases := map[string][]byte{
		"garbage":        {0xff, 0xff, 0xff},
		"unknown format": enc(&messages.CausalContext{Format: 9, Clock: []*messages.ClockEntry{{Actor: "A", Counter: 1}}}),
		"zero counter":   enc(&messages.CausalContext{Format: 1, Clock: []*messages.ClockEntry{{Actor: "A"}}}),
		"duplicate":      enc(&messages.CausalContext{Format: 1, Clock: []*messages.ClockEntry{{Actor: "A", Counter: 1}, {Actor: "A", Counter: 2}}}),
		"long actor":     enc(&messages.CausalContext{Format: 1, Clock: []*messages.ClockEntry{{Actor: string(long), Counter: 1}}}),
	}
	for name, b := range cases {
		if _, err := DecodeContext(b); !errors.Is(err, ErrBadContext) {
			t.Errorf("%s: DecodeContext = %v, want ErrBadContext", name, err)
		}
	}
	if c, err := DecodeContext(nil); err != nil || !c.IsEmpty() {
		t.Fatalf("empty context: %v %v", c, err)
	}
	if _, err := Unmarshal([]byte{0xff}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("garbage object: %v", err)
	}
	b, _ := proto.Marshal(&messages.StoredObject{Format: 2})
	if _, err := Unmarshal(b); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown object format: %v", err)
	}
	b, _ = proto.Marshal(&messages.StoredObject{Format: 1, Set: &messages.VersionSet{Siblings: []*messages.Sibling{{}}}})
	if _, err := Unmarshal(b); !errors.Is(err, ErrInvalid) {
		t.Fatalf("sibling without dot: %v", err)
	}
}

func FuzzDecodeContext(f *testing.F) {
	f.Add(EncodeContext(Context{Clock: Clock{{Actor: "A", Counter: 3}, {Actor: "B", Counter: 1}}}))
	f.Add(EncodeContext(Context{Clock: Clock{{Actor: "A", Counter: 3}}, Dots: []Dot{{Actor: "B", Counter: 7}, {Actor: "A", Counter: 9}}}))
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x01, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeContext(b)
		if err != nil {
			return
		}
		// Whatever decodes is a valid context: it must be usable by Update
		// and survive a round trip.
		if _, err := Update(nil, c, Write{Value: []byte("v")}, "fuzz", 0); err != nil {
			t.Fatalf("decoded context rejected by Update: %v", err)
		}
		back, err := DecodeContext(EncodeContext(c))
		if err != nil || !back.Clock.equalCounters(c.Clock) || !slices.Equal(back.Dots, c.Dots) {
			t.Fatalf("round trip: %v %v", back, err)
		}
	})
}

func FuzzUnmarshal(f *testing.F) {
	s, _ := Marshal(Sync(mustPut(nil, "a", "A"), mustPut(nil, "b", "B")))
	f.Add(s)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		set, err := Unmarshal(b)
		if err != nil {
			return
		}
		if err := set.validate(); err != nil {
			t.Fatalf("Unmarshal accepted an invalid set: %v", err)
		}
		if !Equal(Sync(set, set), set) {
			t.Fatal("decoded set is not idempotent under Sync")
		}
	})
}

func mustPut(local *Set, value, actor string) *Set {
	s, err := Update(local, local.Context(), Write{Value: []byte(value)}, actor, 0)
	if err != nil {
		panic(err)
	}
	return s
}
