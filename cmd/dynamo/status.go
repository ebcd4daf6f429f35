package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/status"
)

// status prints one node's counters and anti-entropy progress for every
// partition it holds.
func (k kvCommand) status(m *client.Membership, r *ring.Ring, asJSON bool) int {
	st := m.Stats
	out := status.Build(m, r)
	if asJSON {
		return k.printJSON(out)
	}
	fmt.Fprintf(k.stdout, "%s at %s: vnodes %d, keys %d, restarts %d, hints pending %d, hints delivered %d\n",
		m.Node, m.Addr, st.Vnodes, st.Keys, st.Restarts, st.HintsPending, st.HintsDelivered)
	if st.Leaving {
		fmt.Fprintf(k.stdout, "%s is leaving\n", m.Node)
	}
	if st.TreesBuilding > 0 {
		fmt.Fprintf(k.stdout, "%d vnodes are building their Merkle trees (they serve; anti-entropy waits for them)\n", st.TreesBuilding)
	}
	if st.BackgroundHeld > 0 && !st.BackgroundPaused {
		fmt.Fprintf(k.stdout, "background work at %.0f%% of its rates: client requests take %.2f ms on average, %.2f ms without background work (admission control)\n",
			100*(1-st.BackgroundHeld), st.ForegroundMeanMs, st.ForegroundBaselineMs)
	}
	if st.BackgroundPaused {
		fmt.Fprintf(k.stdout, "background work is paused (dynamo background resume --node %s)\n", m.Node)
	}
	for _, h := range out.Hints {
		fmt.Fprintf(k.stdout, "hints for %s: %d pending, %d delivered, %.0f/s over the last minute, time left %s\n",
			h.Node, h.Pending, h.Delivered, h.RatePerSecond, timeLeft(h.LeftMs))
	}
	for _, h := range out.Handoffs {
		fmt.Fprintf(k.stdout, "handoff to %s: %d partitions to go, %d handed off, %.2f/s over the last minute, time left %s\n",
			h.Node, h.Pending, h.Delivered, h.RatePerSecond, timeLeft(h.LeftMs))
	}
	ho := out.Handoff
	transit := "none in transit"
	if ho.InTransit >= 0 {
		transit = fmt.Sprintf("partition %d in transit", ho.InTransit)
	}
	fmt.Fprintf(k.stdout, "handoff: %d partitions to hand off (%s), %d handed off, %d keys moved, %d interrupted, %d bytes\n",
		ho.Pending, transit, ho.Done, ho.Keys, ho.Failures, ho.Bytes)
	ae := out.AntiEntropy
	fmt.Fprintf(k.stdout, "anti-entropy: %d exchanges (%d identical), %d abandoned, %d keys repaired, %d bytes exchanged\n",
		ae.Exchanges, ae.Identical, ae.Failures, ae.KeysRepaired, ae.Bytes)
	rp := out.Reap
	fmt.Fprintf(k.stdout, "reaping: %d passes (%d abandoned), %d keys checked, %d tombstones reaped, %d clock entries pruned, %d compactions (%d ms)\n",
		rp.Passes, rp.Failures, rp.KeysChecked, rp.TombstonesReaped, rp.ClockEntriesPruned, rp.Compactions, rp.CompactionMs)
	tw := tabwriter.NewWriter(k.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "partition\tlast exchange\tpeer\texchanges\tkeys repaired")
	now := time.Now()
	for _, po := range ae.Partitions {
		last, peer := "never", "-"
		if po.LastExchangeMs != 0 {
			last = now.Sub(time.UnixMilli(po.LastExchangeMs)).Truncate(time.Millisecond).String() + " ago"
			peer = po.Peer
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\n", po.Partition, last, peer, po.Exchanges, po.KeysRepaired)
	}
	_ = tw.Flush()
	return exitOK
}

// timeLeft prints an estimate in milliseconds, "-" for none.
func timeLeft(ms int64) string {
	if ms <= 0 {
		return "-"
	}
	return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
}
