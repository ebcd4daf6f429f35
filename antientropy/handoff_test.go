package antientropy_test

import (
	"fmt"
	"maps"
	"testing"

	"github.com/dynamokv/dynamo/antientropy"
	"github.com/dynamokv/dynamo/internal/testseed"
	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/version"
)

// pushAll runs a push-only session of local against remote to completion
// and returns its stats; the shell writes only what the session's Resolve
// allows.
func pushAll(t *testing.T, cfg antientropy.Config, local, remote *replica) antientropy.Stats {
	t.Helper()
	s := antientropy.NewSession(local.tree.Clone(), cfg)
	for step := 0; step < 1_000_000; step++ {
		switch a := s.Next(); a.Kind {
		case antientropy.AskHashes:
			if err := s.StepHashes(remote.tree.Answer(a.Hashes)); err != nil {
				t.Fatal(err)
			}
		case antientropy.ListKeys:
			if err := s.StepKeys(local.list(a.Range), remote.list(a.Range)); err != nil {
				t.Fatal(err)
			}
		case antientropy.RepairKeys:
			changed := 0
			for _, r := range a.Repairs {
				if r.ReadRemote || !r.ReadLocal {
					t.Fatalf("a push-only repair of %q reads local=%v remote=%v, want the local side only", r.Key, r.ReadLocal, r.ReadRemote)
				}
				l := local.data[string(r.Key)]
				merged, wl, wr := s.Resolve(r, l, nil, 0)
				if wl {
					t.Fatalf("a push-only session asks to write %q locally", r.Key)
				}
				if wr {
					// The remote merges what it is sent (a vnode's Merge).
					if remote.put(string(r.Key), version.Sync(remote.data[string(r.Key)], merged)) {
						changed++
					}
				}
			}
			if err := s.StepRepaired(changed); err != nil {
				t.Fatal(err)
			}
		case antientropy.Finished:
			return s.Stats()
		}
	}
	t.Fatal("push-only session does not finish")
	return antientropy.Stats{}
}

// A handoff (push-only session) leaves the local replica as it was and the
// remote holding every local version (it descends each), keeps what only
// the remote had, and a second handoff changes nothing.
func TestPushOnlyHandsEveryLocalVersionToTheRemote(t *testing.T) {
	rng, _ := testseed.New(t)
	for round := range 30 {
		tcfg := merkle.DefaultConfig()
		local, remote := newReplica(t, tcfg), newReplica(t, tcfg)
		h := &history{rng: rng}
		for i, k := range keysInPartition(uint32(round%ringQ), 150, fmt.Sprintf("h%d-", round)) {
			l, r := h.key(t)
			if i%7 == 0 {
				r = nil // a new owner: nothing yet
			}
			if l != nil {
				local.put(k, l)
			}
			if r != nil {
				remote.put(k, r)
			}
		}
		before := maps.Clone(local.data)
		remoteBefore := maps.Clone(remote.data)
		cfg := antientropy.DefaultConfig()
		cfg.PushOnly = true
		cfg.RepairBatch = 1 + rng.IntN(64)
		st := pushAll(t, cfg, local, remote)
		if !maps.EqualFunc(before, local.data, func(a, b *version.Set) bool { return a == b }) {
			t.Fatalf("round %d: a push-only session changed the local replica", round)
		}
		for k, l := range local.data {
			if r := remote.data[k]; r == nil || !version.Descends(r, l) {
				t.Fatalf("round %d: remote lacks the local version of %q after the handoff", round, k)
			}
		}
		for k, r := range remoteBefore {
			if !version.Descends(remote.data[k], r) {
				t.Fatalf("round %d: the handoff lost the remote's own version of %q", round, k)
			}
		}
		remote.checkTree(t, "remote")
		if again := pushAll(t, cfg, local, remote); again.Changed != 0 {
			t.Fatalf("round %d: a second handoff changed %d replicas (first: %+v)", round, again.Changed, st)
		}
	}
}
