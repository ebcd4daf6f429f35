package version

import (
	"fmt"
	"slices"

	"github.com/dynamokv/dynamo/messages"
	"google.golang.org/protobuf/proto"
)

// Context is what a client knows of a key: every dot its clock covers, and
// each of Dots besides. A write with it supersedes exactly the siblings it
// covers.
//
// A read's context is the merged clock of the replicas read. A put's
// returned context (WriterContext) is the writer's own context plus the
// dot of the version it wrote, kept apart from the clock: a clock entry
// covers every lower counter of its actor, and the coordinator's lower
// counters may be siblings this writer never read.
type Context struct {
	Clock Clock
	Dots  []Dot
}

// Limits on contexts, checked when a context is decoded (a client's bytes)
// and when Update is given one.
const (
	// MaxContextDots is the most loose dots a context carries. A put's
	// returned context keeps the newest ones when a writer chains more
	// writes than this without a read; an older dot dropped can only make
	// a superseded version of its own come back as a sibling, never lose
	// one.
	MaxContextDots = 16
)

// ContextOf is the context a read of s hands to the client: its clock.
func ContextOf(s *Set) Context { return Context{Clock: s.Clock()} }

// IsEmpty reports the context of a blind write.
func (c Context) IsEmpty() bool { return len(c.Clock) == 0 && len(c.Dots) == 0 }

// Covers reports whether the context has seen dot d.
func (c Context) Covers(d Dot) bool {
	return c.Clock.Covers(d) || slices.Contains(c.Dots, d)
}

// Get is the highest counter of actor the context names, in its clock or
// its dots.
func (c Context) Get(actor string) uint64 {
	n := c.Clock.Get(actor)
	for _, d := range c.Dots {
		if d.Actor == actor {
			n = max(n, d.Counter)
		}
	}
	return n
}

// validate checks a context's clock (sorted, no duplicates, no zero
// counters) and dots, and the limits. Errors wrap ErrBadContext.
func (c Context) validate() error {
	if len(c.Clock) > MaxContextEntries {
		return fmt.Errorf("%w: %d clock entries, the limit is %d", ErrBadContext, len(c.Clock), MaxContextEntries)
	}
	if len(c.Dots) > MaxContextDots {
		return fmt.Errorf("%w: %d dots, the limit is %d", ErrBadContext, len(c.Dots), MaxContextDots)
	}
	if err := validateClock(c.Clock, ErrBadContext); err != nil {
		return err
	}
	for i, d := range c.Dots {
		if d.Actor == "" || len(d.Actor) > MaxActorLen || d.Counter == 0 {
			return fmt.Errorf("%w: dot %d must have an actor of 1 to %d bytes and a counter above 0", ErrBadContext, i, MaxActorLen)
		}
	}
	return nil
}

// WriterContext is the context a put returns to its writer: it covers what
// the writer's context ctx covered and the version the put wrote (dot),
// nothing else. When the new set holds that version alone (ctx covered
// every other sibling), its clock is the set's whole clock; otherwise it is
// ctx's clock with dot kept apart. Either way ctx's loose dots the clock
// does not cover stay (the newest MaxContextDots in all): a chain of writes
// each carrying the previous one's returned context never erases a
// sibling its writer did not read, and still supersedes the writer's own
// earlier versions when they reach a coordinator late.
func WriterContext(set *Set, ctx Context, dot Dot) Context {
	out := Context{Clock: slices.Clone(ctx.Clock)}
	if sibs := set.sibs(); len(sibs) == 1 && sibs[0].Dot == dot {
		out.Clock = set.Clock()
	} else {
		out.Dots = append(out.Dots, dot)
	}
	// The writer's earlier versions its context named and the clock does
	// not cover (written at another coordinator that this one has not
	// heard from yet) stay named, newest last.
	var keep []Dot
	for _, d := range ctx.Dots {
		if !out.Clock.Covers(d) && !slices.Contains(out.Dots, d) {
			keep = append(keep, d)
		}
	}
	out.Dots = append(keep, out.Dots...)
	if n := len(out.Dots); n > MaxContextDots {
		out.Dots = out.Dots[n-MaxContextDots:]
	}
	if len(out.Dots) == 0 {
		out.Dots = nil
	}
	return out
}

// EncodeContext returns the opaque bytes a client carries to its next
// write: format 1 (a clock) when c has no loose dots, so that a read's
// context reads on every release, else format 2. An empty context encodes
// as empty bytes (a blind write).
func EncodeContext(c Context) []byte {
	if c.IsEmpty() {
		return nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(ToProtoContext(c))
	if err != nil {
		panic(fmt.Sprintf("version: encoding a context cannot fail: %v", err))
	}
	return b
}

// DecodeContext parses context bytes (format 1 or 2) and checks them: at
// most MaxContextEntries clock entries and MaxContextDots dots, actor ids of
// at most MaxActorLen bytes, no duplicate actors, no zero counters. Empty
// bytes are the empty context. Errors wrap ErrBadContext and name the
// limit.
func DecodeContext(b []byte) (Context, error) {
	if len(b) == 0 {
		return Context{}, nil
	}
	var p messages.CausalContext
	if err := proto.Unmarshal(b, &p); err != nil {
		return Context{}, fmt.Errorf("%w: %v", ErrBadContext, err)
	}
	if f := p.GetFormat(); f != ContextFormat && f != contextFormatClock {
		return Context{}, fmt.Errorf("%w: format %d is not known to this node (it reads formats %d and %d)", ErrBadContext, f, contextFormatClock, ContextFormat)
	}
	return FromProtoContext(&p)
}

// ToProtoContext is c as it travels inside a message (FromProtoContext
// reads it) and, encoded, as a client holds it.
func ToProtoContext(c Context) *messages.CausalContext {
	p := &messages.CausalContext{Format: contextFormatClock}
	if len(c.Dots) > 0 {
		p.Format = ContextFormat
	}
	for _, e := range c.Clock {
		p.Clock = append(p.Clock, &messages.ClockEntry{Actor: e.Actor, Counter: e.Counter, UpdatedMs: e.UpdatedMs})
	}
	for _, d := range c.Dots {
		p.Dots = append(p.Dots, &messages.Dot{Actor: d.Actor, Counter: d.Counter})
	}
	return p
}

// FromProtoContext converts and checks a context carried inside a message
// (as opposed to the opaque bytes a client holds), with the limits of
// DecodeContext. A nil message is the empty context. Errors wrap
// ErrBadContext.
func FromProtoContext(p *messages.CausalContext) (Context, error) {
	if p == nil {
		return Context{}, nil
	}
	if len(p.GetClock()) > MaxContextEntries || len(p.GetDots()) > MaxContextDots {
		// Checked before converting: validate says it again, exactly.
		return Context{}, Context{Clock: make(Clock, len(p.GetClock())), Dots: make([]Dot, len(p.GetDots()))}.validate()
	}
	clock, err := clockFromProto(p.GetClock(), ErrBadContext)
	if err != nil {
		return Context{}, err
	}
	c := Context{Clock: clock}
	for _, d := range p.GetDots() {
		c.Dots = append(c.Dots, Dot{Actor: d.GetActor(), Counter: d.GetCounter()})
	}
	if err := c.validate(); err != nil {
		return Context{}, err
	}
	return c, nil
}
