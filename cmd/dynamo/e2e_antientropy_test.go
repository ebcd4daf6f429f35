package main

import (
	"encoding/json"
	"fmt"
	"github.com/dynamokv/dynamo/status"
	"testing"
	"time"
)

// Anti-entropy with real agents: hinted handoff off, e3 stopped while 1,000
// keys are written at W=2; when it returns, nothing but the Merkle syncers
// can bring it the writes. `dynamo status` shows them at work; then e1 and
// e2 stop and e3 alone answers every key at R=1. With anti-entropy off too
// (the control), e3 alone misses the keys: the check can fail.
func TestE2EAntiEntropyRepairsAReturnedNode(t *testing.T) {
	t.Run("anti-entropy", func(t *testing.T) { antiEntropyScenario(t, false) })
	t.Run("control-without-anti-entropy", func(t *testing.T) { antiEntropyScenario(t, true) })
}

func antiEntropyScenario(t *testing.T, off bool) {
	const keys, prefix = 1000, "anti-entropy"
	flags := []string{"--no-hinted-handoff", "--anti-entropy-interval", "5ms", "--anti-entropy-rate", "50000"}
	if off {
		flags = append(flags, "--no-anti-entropy")
	}
	e := newE2EWith(t, 3, flags)
	c := e.client()
	e.stop(2)
	e.waitUp(2)
	if res := writeKeys(c, prefix, keys, 16, 2); len(res.failed) > 0 {
		t.Fatalf("%d writes failed at W=2 with one node down: %s", len(res.failed), firstFew(res.failed))
	}
	e.start(2)
	e.waitUp(3)
	status := func() status.Document {
		out, errOut, code := e.cli("status", "--node", "e3", "--json")
		var st status.Document
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
			t.Fatalf("dynamo status --node e3: exit %d %q %q", code, out, errOut)
		}
		return st
	}
	if off {
		time.Sleep(3 * time.Second)
		if st := status(); st.AntiEntropy.Exchanges != 0 {
			t.Fatalf("--no-anti-entropy: e3 made %d exchanges", st.AntiEntropy.Exchanges)
		}
	} else {
		took := waitFor(t, 60*time.Second, "e3 repaired and every partition it holds compared", func() (bool, string) {
			st := status()
			// e3 syncs with e1 and e2 and they with it: the repairs of
			// e3's partitions count on whichever side ran the exchange.
			var repaired uint64
			for _, n := range []string{"e1", "e2"} {
				if s, err := stats(c, n); err == nil {
					repaired += s.AntiEntropyKeysRepaired
				}
			}
			repaired += st.AntiEntropy.KeysRepaired
			never := 0
			for _, p := range st.AntiEntropy.Partitions {
				if p.LastExchangeMs == 0 {
					never++
				}
			}
			return repaired >= keys && never == 0 && len(st.AntiEntropy.Partitions) > 0,
				fmt.Sprintf("%d keys repaired in all; e3: %d exchanges, %d partitions never compared", repaired, st.AntiEntropy.Exchanges, never)
		})
		st := status()
		t.Logf("e3 repaired in %v; e3 status: %d exchanges (%d identical), %d keys repaired by e3's syncer, %d bytes",
			took.Round(time.Millisecond), st.AntiEntropy.Exchanges, st.AntiEntropy.Identical, st.AntiEntropy.KeysRepaired, st.AntiEntropy.Bytes)
		out, _, code := e.cli("status", "--node", "e3")
		if code != 0 {
			t.Fatalf("dynamo status: exit %d", code)
		}
		t.Logf("dynamo status --node e3 (first lines):\n%s", firstLines(out, 5))
	}
	e.stop(0)
	e.stop(1)
	e.waitUp(1)
	rr := readKeys(e.clientOf(e.agents[2].actor), prefix, keys, 16, 1)
	t.Logf("e3 alone at R=1: %d of %d keys missing, %d wrong, %d reads failed", len(rr.missing), keys, len(rr.wrong), len(rr.errs))
	if len(rr.errs) > 0 {
		t.Fatalf("reads failed: %s", firstFew(rr.errs))
	}
	if off {
		if len(rr.missing) == 0 {
			t.Fatal("control: without hints and anti-entropy e3 still has every key it was down for")
		}
		return
	}
	if len(rr.missing) > 0 || len(rr.wrong) > 0 {
		t.Fatalf("anti-entropy left %d keys missing (%s) and %d wrong (%s) on e3", len(rr.missing), firstFew(rr.missing), len(rr.wrong), firstFew(rr.wrong))
	}
}

func firstLines(s string, n int) string {
	lines := 0
	for i, r := range s {
		if r == '\n' {
			if lines++; lines == n {
				return s[:i]
			}
		}
	}
	return s
}
