package chaos

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/internal/testbin"
	"github.com/dynamokv/dynamo/internal/testseed"
)

// envDuration is DYNAMO_CHAOS: the length of each chaos run. Unset, the
// runs are skipped (make chaos and CI set it).
func envDuration(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("DYNAMO_CHAOS")
	if v == "" {
		t.Skip("chaos runs start 5 real agents for a minute each: set DYNAMO_CHAOS=60s (make chaos) to run them")
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("DYNAMO_CHAOS=%q is not a positive duration", v)
	}
	return d
}

// dynamoBin is the dynamo command, built once per test run.
var dynamoBin = testbin.New("../cmd/dynamo", "dynamo")

// TestMain removes the built command.
func TestMain(m *testing.M) {
	code := m.Run()
	dynamoBin.Remove()
	os.Exit(code)
}

// buildDynamo builds the dynamo binary (once).
func buildDynamo(t *testing.T) string { return dynamoBin.Path(t) }

// envConfig applies the optional knobs: DYNAMO_CHAOS_FAULTS (a comma list
// of fault kinds: kill,pause,partition,disk,corrupt,leave,join),
// DYNAMO_CHAOS_CLIENTS (merge=N,own=N,blind=N,registers=N,fresh=N,carts=N,quiet=N; 0
// turns a workload off), DYNAMO_CHAOS_DIR (a directory that keeps each
// run's data, logs and report, in <dir>/<test name>, instead of a
// temporary one), DYNAMO_CHAOS_ANTI_ENTROPY_INTERVAL (the agents'
// --anti-entropy-interval).
func envConfig(t *testing.T, cfg *Config) {
	t.Helper()
	if v := os.Getenv("DYNAMO_CHAOS_FAULTS"); v != "" {
		cfg.Faults = nil
		for _, name := range strings.Split(v, ",") {
			k, err := ParseFault(strings.TrimSpace(name))
			if err != nil {
				t.Fatalf("DYNAMO_CHAOS_FAULTS: %v", err)
			}
			cfg.Faults = append(cfg.Faults, k)
		}
	}
	if v := os.Getenv("DYNAMO_CHAOS_ANTI_ENTROPY_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("DYNAMO_CHAOS_ANTI_ENTROPY_INTERVAL=%q is not a positive duration", v)
		}
		cfg.AntiEntropyInterval = d
	}
	if v := os.Getenv("DYNAMO_CHAOS_CLIENTS"); v != "" {
		for _, kv := range strings.Split(v, ",") {
			name, num, ok := strings.Cut(strings.TrimSpace(kv), "=")
			n, err := strconv.Atoi(num)
			if !ok || err != nil || n < 0 {
				t.Fatalf("DYNAMO_CHAOS_CLIENTS: %q is not name=count", kv)
			}
			if n == 0 {
				n = -1 // none
			}
			switch name {
			case "merge":
				cfg.Clients = n
			case "own":
				cfg.OwnWriters = n
			case "blind":
				cfg.BlindWriters = n
			case "registers":
				cfg.Registers = n
			case "fresh":
				cfg.Fresh = n
			case "carts":
				cfg.Carts = max(n, 1)
			case "quiet":
				cfg.QuietCarts = n
			default:
				t.Fatalf("DYNAMO_CHAOS_CLIENTS: unknown workload %q (merge, own, blind, registers, fresh, carts, quiet)", name)
			}
		}
	}
}

func run(t *testing.T, cfg Config) *Report {
	t.Helper()
	envConfig(t, &cfg)
	cfg.Dir = t.TempDir()
	if d := os.Getenv("DYNAMO_CHAOS_DIR"); d != "" {
		cfg.Dir = filepath.Join(d, strings.ReplaceAll(t.Name(), "/", "-"))
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Log = testWriter{t}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report written to %s", cfg.Dir)
	t.Cleanup(func() {
		if t.Failed() {
			for i := range cfg.Nodes + 1 {
				if b, err := os.ReadFile(filepath.Join(cfg.Dir, "n"+strconv.Itoa(i+1)+".log")); err == nil {
					t.Logf("log of n%d (last 4 KB):\n%s", i+1, tail(b, 4096))
				}
			}
		}
	})
	return rep
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// With siblings, no acknowledged add is lost, nothing unexpected appears,
// and every replica converges within the quiet period: seed 1 and one
// random seed (DYNAMO_CHAOS_RUNS=k: k random seeds), or the seed of
// DYNAMO_CHAOS_SEED alone.
func TestChaosSiblingsLoseNothing(t *testing.T) {
	d := envDuration(t)
	bin := buildDynamo(t)
	rng, _ := testseed.New(t)
	seeds := []uint64{1}
	runs := 1
	if v := os.Getenv("DYNAMO_CHAOS_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("DYNAMO_CHAOS_RUNS=%q is not a count", v)
		}
		runs = n
	}
	for range runs {
		seeds = append(seeds, rng.Uint64()%1_000_000_000)
	}
	if v := os.Getenv("DYNAMO_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DYNAMO_CHAOS_SEED=%q: %v", v, err)
		}
		seeds = []uint64{s}
	}
	for _, seed := range seeds {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			rep := run(t, Config{Binary: bin, Duration: d, Seed: seed})
			if !rep.Result.OK() {
				t.Fatalf("seed %d: INVALID (replay with DYNAMO_CHAOS_SEED=%d):\n%s", seed, seed, rep.Text())
			}
			if rep.Result.Acked == 0 || len(rep.Timeline) < 2 {
				t.Fatalf("seed %d: nothing was tested: %d adds acknowledged, %d nemesis events", seed, rep.Result.Acked, len(rep.Timeline))
			}
			// Expiry was exercised: values expired, and (fresh keys, one
			// in four with a long time to live) others lived on.
			if e := rep.Result.Registers.Expiry; (rep.Regs+rep.Fresh > 0 && e.CheckedExpired == 0) || (rep.Fresh > 0 && e.CheckedLive == 0) {
				t.Fatalf("seed %d: expiry was not tested: %d puts with a time to live acknowledged, %d checked expired, %d checked live", seed, e.Acked, e.CheckedExpired, e.CheckedLive)
			}
			if rep.Converged > 30*time.Second {
				t.Fatalf("replicas converged %v after the final heal, want within 30 s", rep.Converged)
			}
		})
	}
}

// The control: in last-write-wins mode concurrent adds overwrite each
// other, and the checker must see acknowledged adds lost.
func TestChaosLWWControlLosesAdds(t *testing.T) {
	d := envDuration(t)
	rep := run(t, Config{Binary: buildDynamo(t), Duration: min(d, 20*time.Second), Seed: 1, LWW: true})
	if len(rep.Result.Lost) == 0 {
		t.Fatalf("last-write-wins lost no acknowledged add: the checker cannot see loss\n%s", rep.Text())
	}
	t.Logf("control: %d of %d acknowledged adds lost, as expected with last-write-wins", len(rep.Result.Lost), rep.Result.Acked)
}
