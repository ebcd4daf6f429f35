package progress

import (
	"slices"
	"sync"
)

// Tracker follows transfers per target node: the items pending, those
// done, and the rate over the last minute with the time left at that
// rate. Time is passed in (milliseconds). Safe for concurrent use; the
// zero value is ready.
type Tracker struct {
	mu      sync.Mutex
	targets map[string]*targetProgress
}

// progressWindowMs is the span the delivery rate is measured over.
const progressWindowMs = 60_000

type targetProgress struct {
	pending, delivered uint64
	samples            []progressSample // oldest first, at most one a second
}

type progressSample struct {
	ms        int64
	delivered uint64
}

// Count is the items pending for one target.
type Count struct {
	Target string
	Items  int
}

// Target is one target's progress.
type Target struct {
	Target             string
	Pending, Delivered uint64
	// RatePerSecond is the delivery rate over the last minute (up to the
	// first delivery's time when that was more recent); ETAMs the time
	// left at that rate, 0 when nothing is delivered now.
	RatePerSecond float64
	ETAMs         int64
}

func (p *Tracker) target(name string) *targetProgress {
	if p.targets == nil {
		p.targets = map[string]*targetProgress{}
	}
	o := p.targets[name]
	if o == nil {
		o = &targetProgress{}
		p.targets[name] = o
	}
	return o
}

// Pending records the items pending now for each target; targets not
// listed have none.
func (p *Tracker) Pending(counts []Count) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range p.targets {
		o.pending = 0
	}
	for _, c := range counts {
		p.target(c.Target).pending = uint64(max(0, c.Items))
	}
}

// Delivered records n items delivered to target at nowMs.
func (p *Tracker) Delivered(target string, n uint64, nowMs int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.target(target)
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
func (o *targetProgress) trim(nowMs int64) {
	i := 0
	for i+1 < len(o.samples) && o.samples[i+1].ms <= nowMs-progressWindowMs {
		i++
	}
	o.samples = o.samples[i:]
}

// Snapshot returns every target with items pending or delivered, by name.
func (p *Tracker) Snapshot(nowMs int64) []Target {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Target
	for name, o := range p.targets {
		if o.pending == 0 && o.delivered == 0 {
			continue
		}
		o.trim(nowMs)
		t := Target{Target: name, Pending: o.pending, Delivered: o.delivered}
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
		if a.Target < b.Target {
			return -1
		}
		if a.Target > b.Target {
			return 1
		}
		return 0
	})
	return out
}
