package node

import (
	"time"

	"github.com/dynamokv/dynamo/admission"
)

// admit runs the admission controller until the node stops: every tick it
// hands the controller the client requests this node answered in the
// window and sets background work's share of its rates to what it returns.
// It runs on a goroutine the node owns (Go); at the stop background work
// is left at full rate.
func (n *Node) admit() {
	cfg := admission.DefaultConfig()
	c, err := admission.New(cfg)
	if err != nil {
		n.log.Error("admission control off: bad config", "err", err)
		return
	}
	defer n.background.SetShare(1)
	tick := time.NewTicker(time.Duration(cfg.TickMs) * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	lastCount, lastSum := n.counters.Requests.Totals()
	for {
		select {
		case <-n.quit:
			return
		case now := <-tick.C:
			count, sum := n.counters.Requests.Totals()
			w := admission.Window{Requests: count - lastCount, LatencyNs: uint64(sum - lastSum)}
			lastCount, lastSum = count, sum
			n.background.SetShare(c.Step(now.Sub(start).Milliseconds(), w))
			n.counters.Admission.Store(w.MeanMs(), c.Baseline())
		}
	}
}
