package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/ring"
)

// statusOutput is `dynamo status --json`.
type statusOutput struct {
	Node        string            `json:"node"`
	Addr        string            `json:"addr"`
	Leaving     bool              `json:"leaving"`
	Stats       statsOutput       `json:"stats"`
	AntiEntropy antiEntropyOutput `json:"anti_entropy"`
	Handoff     handoffOutput     `json:"handoff"`
}

// handoffOutput: partitions held but no longer owned (pending), handed off
// and dropped (done), handoff writes that changed an owner, interrupted
// sessions, bytes.
type handoffOutput struct {
	Pending int `json:"pending"`
	// InTransit is the partition being handed off, -1 for none.
	InTransit int    `json:"in_transit"`
	Done      uint64 `json:"done"`
	Keys      uint64 `json:"keys"`
	Failures  uint64 `json:"failures"`
	Bytes     uint64 `json:"bytes"`
}

type antiEntropyOutput struct {
	Exchanges    uint64            `json:"exchanges"`
	Identical    uint64            `json:"identical"`
	Failures     uint64            `json:"failures"`
	KeysRepaired uint64            `json:"keys_repaired"`
	Bytes        uint64            `json:"bytes"`
	Partitions   []partitionOutput `json:"partitions"`
}

// partitionOutput is one partition the node holds; last_exchange_ms is 0
// and peer empty when it was never compared.
type partitionOutput struct {
	Partition      uint32 `json:"partition"`
	LastExchangeMs int64  `json:"last_exchange_ms"`
	Peer           string `json:"peer"`
	Exchanges      uint64 `json:"exchanges"`
	KeysRepaired   uint64 `json:"keys_repaired"`
}

// status prints one node's counters and anti-entropy progress for every
// partition it holds.
func (k kvCommand) status(m *client.Membership, r *ring.Ring, asJSON bool) int {
	held, _ := r.PartitionsOf(m.Node)
	progress := map[uint32]client.PartitionSync{}
	for _, ps := range m.AntiEntropy {
		progress[ps.Partition] = ps
	}
	st := m.Stats
	out := statusOutput{Node: m.Node, Addr: m.Addr, Leaving: st.Leaving, Stats: statsOf(st),
		Handoff: handoffOutput{Pending: st.HandoffsPending, InTransit: st.HandoffInTransit, Done: st.HandoffsDone, Keys: st.HandoffKeys, Failures: st.HandoffFailures, Bytes: st.HandoffBytes},
		AntiEntropy: antiEntropyOutput{
			Exchanges: st.AAEExchanges, Identical: st.AAEIdentical, Failures: st.AAEFailures, KeysRepaired: st.AAEKeysRepaired, Bytes: st.AAEBytes,
			Partitions: []partitionOutput{}}}
	for _, p := range held {
		po := partitionOutput{Partition: p}
		if ps, ok := progress[p]; ok {
			po.LastExchangeMs, po.Peer, po.Exchanges, po.KeysRepaired = ps.LastExchange.UnixMilli(), ps.Peer, ps.Exchanges, ps.KeysRepaired
		}
		out.AntiEntropy.Partitions = append(out.AntiEntropy.Partitions, po)
	}
	if asJSON {
		return k.printJSON(out)
	}
	fmt.Fprintf(k.stdout, "%s at %s: vnodes %d, restarts %d, hints pending %d, hints delivered %d\n",
		m.Node, m.Addr, st.Vnodes, st.Restarts, st.HintsPending, st.HintsDelivered)
	if st.Leaving {
		fmt.Fprintf(k.stdout, "%s is leaving\n", m.Node)
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
