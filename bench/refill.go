package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/dynamokv/dynamo/client"
)

// refillResult is how a wiped node refilled during and after a run
// (--refill).
type refillResult struct {
	Node     string  `json:"node"`
	Keys     int     `json:"keys"`
	Held     uint64  `json:"held"`
	Seconds  float64 `json:"seconds"`
	Complete bool    `json:"complete"`
	Rate     string  `json:"anti_entropy_rate"`
	// Held is each node's mean share of background rates held back by
	// admission control during the run (sampled twice a second).
	HeldDuringRun map[string]float64 `json:"held_during_run"`
}

// refillWait bounds how long the bench waits for the refill after the run.
const refillWait = 10 * time.Minute

// startRefill wipes and restarts lc's last node, and returns a function
// that, called after the run, waits until that node holds keys objects
// (every key: --n equals --nodes) and reports how long it took.
func startRefill(ctx context.Context, lc *localCluster, c *client.Client, keys int, log io.Writer) (func() *refillResult, error) {
	victim := lc.children[len(lc.children)-1]
	fmt.Fprintf(log, "bench: wiping %s and restarting it\n", victim.name)
	start := time.Now()
	if err := lc.restartWiped(ctx, victim); err != nil {
		return nil, err
	}
	rate := "default"
	if lc.spec.aeRate > 0 {
		rate = strconv.Itoa(lc.spec.aeRate)
	}
	// Sample every node's admission control until the run ends.
	held := map[string]float64{}
	samples := map[string]int{}
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			for _, ch := range lc.children {
				sctx, cancel := context.WithTimeout(ctx, time.Second)
				m, err := c.Status(sctx, ch.name)
				cancel()
				if err == nil {
					held[ch.name] += m.Stats.BackgroundHeld
					samples[ch.name]++
				}
			}
		}
	}()
	return func() *refillResult {
		close(stop)
		<-sampled
		r := &refillResult{Node: victim.name, Keys: keys, Rate: rate, HeldDuringRun: map[string]float64{}}
		for name, sum := range held {
			r.HeldDuringRun[name] = round(sum/float64(samples[name]), 2)
		}
		deadline := time.Now().Add(refillWait)
		for ctx.Err() == nil {
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			m, err := c.Status(sctx, victim.name)
			cancel()
			if err == nil {
				r.Held = m.Stats.Keys
				if r.Held >= uint64(keys) {
					r.Complete = true
					break
				}
			}
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		r.Seconds = round(time.Since(start).Seconds(), 1)
		fmt.Fprintf(log, "bench: %s holds %d of %d keys after %.1f s\n", victim.name, r.Held, keys, r.Seconds)
		return r
	}, nil
}
