package hints

import (
	"slices"
	"sync"
)

// Progress follows hint delivery per owner, for status: the hints held,
// those delivered, and the delivery rate over the last minute with the
// time left at that rate. Time is passed in (Unix milliseconds). Safe for
// concurrent use; the zero value is ready.
type Progress struct {
	mu     sync.Mutex
	owners map[string]*ownerProgress
}

// progressWindowMs is the span the delivery rate is measured over.
const progressWindowMs = 60_000

type ownerProgress struct {
	pending, delivered uint64
	samples            []progressSample // oldest first, at most one a second
}

type progressSample struct {
	ms        int64
	delivered uint64
}

// Target is one owner's hint progress.
type Target struct {
	Owner              string
	Pending, Delivered uint64
	// RatePerSecond is the delivery rate over the last minute (up to the
	// first delivery's time when that was more recent); ETAMs the time
	// left at that rate, 0 when nothing is delivered now.
	RatePerSecond float64
	ETAMs         int64
}

func (p *Progress) owner(name string) *ownerProgress {
	if p.owners == nil {
		p.owners = map[string]*ownerProgress{}
	}
	o := p.owners[name]
	if o == nil {
		o = &ownerProgress{}
		p.owners[name] = o
	}
	return o
}

// Pending records the hints held now for each owner; owners not listed
// hold none.
func (p *Progress) Pending(counts []OwnerCount) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range p.owners {
		o.pending = 0
	}
	for _, c := range counts {
		p.owner(c.Owner).pending = uint64(max(0, c.Hints))
	}
}

// Delivered records n hints delivered to owner at nowMs.
func (p *Progress) Delivered(owner string, n uint64, nowMs int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.owner(owner)
	if len(o.samples) == 0 {
		o.samples = append(o.samples, progressSample{ms: nowMs, delivered: o.delivered})
	}
	o.delivered += n
	if last := o.samples[len(o.samples)-1]; nowMs-last.ms >= 1000 {
		o.samples = append(o.samples, progressSample{ms: nowMs, delivered: o.delivered})
	}
	o.trim(nowMs)
}

// trim drops samples older than the window, keeping the newest of them
// as the window's start.
func (o *ownerProgress) trim(nowMs int64) {
	i := 0
	for i+1 < len(o.samples) && o.samples[i+1].ms <= nowMs-progressWindowMs {
		i++
	}
	o.samples = o.samples[i:]
}

// Snapshot returns every owner with hints held or delivered, by name.
func (p *Progress) Snapshot(nowMs int64) []Target {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Target
	for name, o := range p.owners {
		if o.pending == 0 && o.delivered == 0 {
			continue
		}
		o.trim(nowMs)
		t := Target{Owner: name, Pending: o.pending, Delivered: o.delivered}
		if len(o.samples) > 0 {
			first := o.samples[0]
			if span := nowMs - first.ms; span > 0 && o.delivered > first.delivered {
				t.RatePerSecond = float64(o.delivered-first.delivered) * 1000 / float64(span)
			}
		}
		if t.RatePerSecond > 0 && t.Pending > 0 {
			t.ETAMs = int64(float64(t.Pending) / t.RatePerSecond * 1000)
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Target) int {
		if a.Owner < b.Owner {
			return -1
		}
		if a.Owner > b.Owner {
			return 1
		}
		return 0
	})
	return out
}
