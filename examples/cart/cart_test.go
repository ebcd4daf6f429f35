package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/internal/testbin"
)

// The test runs both scenarios against a cluster of three nodes in this
// process on loopback ports chosen free: first with a real failure (a node
// stopped and restarted), then as against a cluster the program did not
// start (the failure played from the client's side). It fails if a read
// did not return both concurrent versions as siblings or if the merged
// cart lacks an add.

func logger(t *testing.T) *slog.Logger {
	if os.Getenv("DYNAMO_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func TestScenariosKeepEveryAdd(t *testing.T) {
	if raceEnabled {
		t.Skip("protoactor races inside the library when several actor systems share a process (see the Makefile's NORACE_PKGS): run without -race")
	}
	o, err := startOwn(t.TempDir(), 3, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	for _, c := range []struct {
		name string
		cl   cluster
		says []string
	}{
		{"real failure", o, []string{"fails: its node is stopped", "returns: started again", "replica of the cart now holds 2 versions"}},
		{"failure played by the clients", remote{seeds: o.Seeds(), listen: "127.0.0.1:0"}, []string{"This program cannot stop a node", "was up all along"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			var out bytes.Buffer
			results, err := scenarios(ctx, c.cl, "127.0.0.1:0", strings.ReplaceAll(c.name, " ", "-"), logger(t), &out)
			t.Logf("output:\n%s", out.String())
			if err != nil {
				t.Fatal(err)
			}
			check(t, "scenario 1", results[0],
				[][]string{{"apple", "banana", "bread"}, {"apple", "banana", "milk"}},
				[]string{"apple", "banana", "bread", "milk"})
			check(t, "scenario 2", results[1],
				[][]string{{"coffee", "eggs"}, {"eggs", "tea"}},
				[]string{"coffee", "eggs", "tea"})
			for _, s := range append(c.says, "2 siblings", "Both adds survived", "version [") {
				if !strings.Contains(out.String(), s) {
					t.Errorf("the output does not say %q", s)
				}
			}
		})
	}
}

// check compares what a scenario saw with what it must have seen: both
// concurrent versions as siblings, and a merged cart with every add.
func check(t *testing.T, name string, r *Result, siblings [][]string, merged []string) {
	t.Helper()
	got := slices.Clone(r.Siblings)
	slices.SortFunc(got, slices.Compare)
	if !slices.EqualFunc(got, siblings, slices.Equal) {
		t.Errorf("%s: the read before the merge returned %v, want the siblings %v", name, r.Siblings, siblings)
	}
	if !slices.Equal(r.Merged, merged) {
		t.Errorf("%s: merged cart %v, want %v", name, r.Merged, merged)
	}
	if lost := missing(r.Added, r.Merged); len(lost) > 0 {
		t.Errorf("%s: adds lost: %v", name, lost)
	}
}

func TestRunExplainsWhatIsMissing(t *testing.T) {
	if raceEnabled {
		t.Skip("protoactor races inside the library (see the Makefile's NORACE_PKGS)")
	}
	var out, errb bytes.Buffer
	if code := run([]string{"extra"}, &out, &errb); code != 2 {
		t.Errorf("an argument: exit %d, want 2", code)
	}
	errb.Reset()
	// Nothing listens on port 1: the program says how to start a cluster.
	if code := run([]string{"-seeds", "127.0.0.1:1"}, &out, &errb); code != 1 {
		t.Errorf("no cluster: exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), "go run ./cmd/dynamo dev") || strings.Count(strings.TrimSpace(errb.String()), "\n") > 1 {
		t.Errorf("no cluster: stderr %q", errb.String())
	}
}

var dynamoBin = testbin.New("../../cmd/dynamo", "dynamo")

// Against a real `dynamo dev` process, as a user runs it: the node really
// stops (dynamo debug stop) and comes back, and its replica receives what
// it missed.
func TestScenariosAgainstDynamoDev(t *testing.T) {
	if raceEnabled {
		t.Skip("protoactor races inside the library when several actor systems share a process (see the Makefile's NORACE_PKGS): run without -race")
	}
	gp, ap := testbin.FreeRun(t, 3), testbin.FreeRun(t, 3)
	dev := exec.Command(dynamoBin.Path(t), "dev", "--gossip-port", strconv.Itoa(gp), "--actor-port", strconv.Itoa(ap), "--http-port", "0")
	var devOut syncBuf
	dev.Stdout, dev.Stderr = &devOut, &devOut
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = dev.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = dev.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = dev.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(devOut.String(), "try, from another terminal") {
		if time.Now().After(deadline) {
			t.Fatalf("dynamo dev did not start:\n%s", devOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var seeds []string
	for i := range 3 {
		seeds = append(seeds, fmt.Sprintf("127.0.0.1:%d", ap+i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	results, err := scenarios(ctx, remote{seeds: seeds, listen: "127.0.0.1:0"}, "127.0.0.1:0", "dev", logger(t), &out)
	t.Logf("output:\n%s\ndynamo dev:\n%s", out.String(), devOut.String())
	if err != nil {
		t.Fatal(err)
	}
	check(t, "scenario 1", results[0],
		[][]string{{"apple", "banana", "bread"}, {"apple", "banana", "milk"}},
		[]string{"apple", "banana", "bread", "milk"})
	for _, want := range []string{"dynamo dev stops its node", "marks it failed", "returns: started again", "replica of the cart now holds 2 versions"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output does not say %q", want)
		}
	}
	if !strings.Contains(devOut.String(), "is back") {
		t.Errorf("dynamo dev did not restart the node:\n%s", devOut.String())
	}
}

type syncBuf = testbin.SyncBuffer

func TestMain(m *testing.M) {
	code := m.Run()
	dynamoBin.Remove()
	os.Exit(code)
}
