package version

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/messages"
	"google.golang.org/protobuf/proto"
)

func TestContextCodecFormatsAndLimits(t *testing.T) {
	clockOnly := Context{Clock: Clock{{Actor: "A", Counter: 3}}}
	b := EncodeContext(clockOnly)
	var p messages.CausalContext
	if err := proto.Unmarshal(b, &p); err != nil || p.GetFormat() != 1 {
		t.Fatalf("a context without loose dots is format 1 (every release reads it): %v %v", p.GetFormat(), err)
	}
	withDots := Context{Clock: clockOnly.Clock, Dots: []Dot{{Actor: "B", Counter: 9}}}
	back, err := DecodeContext(EncodeContext(withDots))
	if err != nil || !back.Covers(Dot{Actor: "B", Counter: 9}) || back.Covers(Dot{Actor: "B", Counter: 8}) || !back.Covers(Dot{Actor: "A", Counter: 2}) {
		t.Fatalf("format 2 round trip: %+v %v", back, err)
	}
	enc := func(c *messages.CausalContext) []byte {
		b, err := proto.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tooMany := &messages.CausalContext{Format: 1}
	for i := range MaxContextEntries + 1 {
		tooMany.Clock = append(tooMany.Clock, &messages.ClockEntry{Actor: fmt.Sprintf("a%d", i), Counter: 1})
	}
	manyDots := &messages.CausalContext{Format: 2}
	for i := range MaxContextDots + 1 {
		manyDots.Dots = append(manyDots.Dots, &messages.Dot{Actor: "A", Counter: uint64(i + 1)})
	}
	for name, tc := range map[string]struct {
		b    []byte
		want string
	}{
		"clock entries": {enc(tooMany), "limit is 4096"},
		"dots":          {enc(manyDots), fmt.Sprintf("limit is %d", MaxContextDots)},
		"zero dot":      {enc(&messages.CausalContext{Format: 2, Dots: []*messages.Dot{{Actor: "A"}}}), "counter above 0"},
		"format 3":      {enc(&messages.CausalContext{Format: 3}), "format 3"},
	} {
		if _, err := DecodeContext(tc.b); !errors.Is(err, ErrBadContext) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrBadContext naming %q", name, err, tc.want)
		}
	}
}

// A write with a context's loose dot supersedes exactly that sibling, and
// the dot does not enter the clock: the coordinator's other versions of
// the same actor stay.
func TestLooseDotsSupersedeOnlyTheirSibling(t *testing.T) {
	y := put(t, nil, Context{}, "y", "A")                               // A:1
	x1, err := Update(y, Context{}, Write{Value: []byte("x1")}, "A", 0) // A:2, y stays
	if err != nil {
		t.Fatal(err)
	}
	dot := Dot{Actor: "A", Counter: 2}
	ret := WriterContext(x1, Context{}, dot)
	if ret.Covers(Dot{Actor: "A", Counter: 1}) || !ret.Covers(dot) {
		t.Fatalf("returned context %+v must cover x1 and not y", ret)
	}
	x2 := put(t, x1, ret, "x2", "A")
	if got := liveValues(x2); fmt.Sprint(got) != "[x2 y]" {
		t.Fatalf("after x2 with x1's returned context: %v, want [x2 y]", got)
	}
	// A write that leaves one sibling returns the whole clock.
	all := put(t, x2, x2.Context(), "all", "A")
	if got := WriterContext(all, x2.Context(), all.Siblings()[0].Dot); len(got.Dots) != 0 || !got.Clock.equalCounters(all.Clock()) {
		t.Fatalf("a write that left one sibling returned %+v, want its set's clock", got)
	}
	// A long chain keeps the newest MaxContextDots dots.
	c := Context{Clock: Clock{{Actor: "Z", Counter: 1}}}
	for i := range 3 * MaxContextDots {
		c = WriterContext(x2, c, Dot{Actor: "C", Counter: uint64(i + 1)})
	}
	if len(c.Dots) != MaxContextDots || !c.Covers(Dot{Actor: "C", Counter: 3 * MaxContextDots}) {
		t.Fatalf("chained context: %d dots %+v", len(c.Dots), c.Dots)
	}
}

// A put that leaves one version at a coordinator that has not seen the
// writer's earlier versions yet still returns their loose dots: the
// coordinator's clock does not cover them, and a later chained put must
// still supersede them when they arrive (the review's scenario: x1 written
// at P2, x2 chained through P1 before x1 reached it, x3 chained after).
func TestWriterContextKeepsLooseDotsTheClockDoesNotCover(t *testing.T) {
	atP2 := put(t, nil, Context{}, "y", "B")                               // B:1
	x1, err := Update(atP2, Context{}, Write{Value: []byte("x1")}, "B", 0) // B:2, y stays
	if err != nil {
		t.Fatal(err)
	}
	ctx1 := WriterContext(x1, Context{}, Dot{Actor: "B", Counter: 2})
	x2 := put(t, nil, ctx1, "x2", "A") // at P1, which holds nothing yet
	ctx2 := WriterContext(x2, ctx1, Dot{Actor: "A", Counter: 1})
	if !ctx2.Covers(Dot{Actor: "B", Counter: 2}) {
		t.Fatalf("returned context %+v lost the writer's x1 (B:2)", ctx2)
	}
	atP1 := Sync(x2, x1) // x1 and y reach P1
	x3 := put(t, atP1, ctx2, "x3", "A")
	if got := liveValues(x3); fmt.Sprint(got) != "[x3 y]" {
		t.Fatalf("after a chain x1, x2, x3 of returned contexts: %v, want [x3 y]", got)
	}
}
