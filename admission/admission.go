package admission

import (
	"errors"
	"fmt"
)

// Config tunes a Controller. Every field has a default (DefaultConfig).
type Config struct {
	// TickMs is the window length: how often Step is called, in
	// milliseconds. Default 250.
	TickMs int64
	// Tolerance is how far, as a fraction, the foreground's mean latency
	// may rise above its baseline before background work slows. Default
	// 0.10.
	Tolerance float64
	// SlackMs is added to the tolerated latency, in milliseconds, so that
	// sub-millisecond noise on a fast baseline does not throttle. Default
	// 0.5.
	SlackMs float64
	// MinShare is the least share of its rates background work keeps
	// while foreground requests suffer, so that it still finishes. 0 < x <=
	// 1. Default 0.05.
	MinShare float64
	// Increase is the share added back after a window in which the
	// foreground did not suffer. Default 0.1.
	Increase float64
	// ProbeEveryMs is how often, in milliseconds of busy foreground,
	// background work is held off for one window to measure the baseline
	// again. Default 5000.
	ProbeEveryMs int64
	// MinRequests is the fewest foreground requests in a window that
	// count as load to protect; below it background work runs at its full
	// rate. Default 20.
	MinRequests uint64
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{TickMs: 250, Tolerance: 0.10, SlackMs: 0.5, MinShare: 0.05, Increase: 0.1, ProbeEveryMs: 5000, MinRequests: 20}
}

// ErrInvalid marks an unusable Config.
var ErrInvalid = errors.New("admission: invalid config")

// Validate names the first field out of range.
func (c Config) Validate() error {
	switch {
	case c.TickMs < 1:
		return fmt.Errorf("%w: TickMs is %d, want >= 1", ErrInvalid, c.TickMs)
	case !(c.Tolerance >= 0):
		return fmt.Errorf("%w: Tolerance is %v, want >= 0", ErrInvalid, c.Tolerance)
	case !(c.SlackMs >= 0):
		return fmt.Errorf("%w: SlackMs is %v, want >= 0", ErrInvalid, c.SlackMs)
	case !(c.MinShare > 0 && c.MinShare <= 1):
		return fmt.Errorf("%w: MinShare is %v, want in (0, 1]", ErrInvalid, c.MinShare)
	case !(c.Increase > 0 && c.Increase <= 1):
		return fmt.Errorf("%w: Increase is %v, want in (0, 1]", ErrInvalid, c.Increase)
	case c.ProbeEveryMs < c.TickMs:
		return fmt.Errorf("%w: ProbeEveryMs is %d, want >= TickMs (%d)", ErrInvalid, c.ProbeEveryMs, c.TickMs)
	}
	return nil
}

// Window is what the foreground did in one tick: the requests answered
// and the sum of their latencies.
type Window struct {
	Requests  uint64
	LatencyNs uint64
}

// MeanMs is the window's mean latency in milliseconds (0 without
// requests).
func (w Window) MeanMs() float64 {
	if w.Requests == 0 {
		return 0
	}
	return float64(w.LatencyNs) / float64(w.Requests) / 1e6
}

// State names what the controller is doing.
type State int

const (
	// Open: no foreground to protect (or none measured yet); background
	// runs at full rate.
	Open State = iota + 1
	// Tracking: background's share follows the foreground's latency.
	Tracking
	// Probing: background is held off for a window to measure the
	// baseline.
	Probing
)

func (s State) String() string {
	switch s {
	case Open:
		return "open"
	case Tracking:
		return "tracking"
	case Probing:
		return "probing"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Controller is the feedback loop. Not safe for concurrent use: one owner
// calls Step.
type Controller struct {
	cfg      Config
	state    State
	share    float64 // while Tracking or Open
	baseline float64 // mean latency ms of the last probe windows; 0: none yet
	// nextProbe is when Tracking next probes (ms, Step's clock).
	nextProbe int64
}

// New returns a controller in state Open (share 1).
func New(cfg Config) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Controller{cfg: cfg, state: Open, share: 1}, nil
}

// Step takes the window that ended at nowMs (milliseconds on a monotonic
// clock) and returns the share of their configured rates background work
// may use until the next Step: 0 while probing, else MinShare..1.
//
// A window with no requests is idle (share 1). One with fewer than
// MinRequests counts as idle too, unless those few took longer than
// tolerated: with clients that wait for each answer, background work that
// slows requests also makes fewer of them complete, and must not read as
// an idle foreground. The first window with requests probes (there is no
// baseline yet), and so does the first busy or suffering window once
// ProbeEveryMs has passed since the last probe.
func (c *Controller) Step(nowMs int64, w Window) float64 {
	if c.state == Probing {
		if w.Requests > 0 { // a window without requests measures nothing
			if m := w.MeanMs(); c.baseline == 0 {
				c.baseline = m
			} else {
				c.baseline = (c.baseline + m) / 2
			}
		}
		c.state, c.nextProbe = Tracking, nowMs+c.cfg.ProbeEveryMs
		return c.share
	}
	suffering := c.baseline > 0 && w.MeanMs() > c.baseline*(1+c.cfg.Tolerance)+c.cfg.SlackMs
	idle := w.Requests < c.cfg.MinRequests && !suffering
	switch {
	case w.Requests == 0:
		c.state, c.share = Open, 1
		return 1
	case c.baseline == 0 || (nowMs >= c.nextProbe && !idle):
		c.state = Probing
		return 0
	case idle:
		c.state, c.share = Open, 1
		return 1
	case suffering:
		c.state, c.share = Tracking, max(c.cfg.MinShare, c.share/2)
	default:
		c.state, c.share = Tracking, min(1, c.share+c.cfg.Increase)
	}
	return c.share
}

// State is what the controller is doing; Share the share Step last
// returned outside a probe; Baseline the foreground's mean latency, in
// milliseconds, without background work (0 before the first probe).
func (c *Controller) State() State      { return c.state }
func (c *Controller) Share() float64    { return c.share }
func (c *Controller) Baseline() float64 { return c.baseline }
