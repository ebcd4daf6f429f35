package main

import (
	"bytes"
	"strings"
	"testing"
)

// Invalid agent flags (or DYNAMO_* variables) fail at start with one
// message naming the flag, before anything listens.
func TestAgentRefusesInvalidFlagsNamingThem(t *testing.T) {
	dir := t.TempDir()
	base := []string{"agent", "--name", "a", "--data-dir", dir, "--gossip-addr", "127.0.0.1:0", "--actor-addr", "127.0.0.1:0", "--http-addr", ""}
	for want, extra := range map[string][]string{
		"--w:":          {"--w", "4"},
		"--r:":          {"--r", "0"},
		"--n:":          {"--n", "17"},
		"--partitions:": {"--partitions", "100"},
		"--weight:":     {"--weight", "0"},
		"--join:":       {"--join", "nohost"},
		"--gossip-addr": {"--gossip-addr", "x"},
		"--log-level":   {"--log-level", "loud"},
		"--log-format":  {"--log-format", "xml"},
	} {
		var out, errb bytes.Buffer
		if code := run(append(append([]string{}, base...), extra...), &out, &errb); code == 0 || !strings.Contains(errb.String(), want) {
			t.Errorf("%v: exit %d, stderr %q, want it to name %s", extra, code, errb.String(), want)
		}
		if n := strings.Count(strings.TrimSpace(errb.String()), "\n"); n != 0 {
			t.Errorf("%v: %d lines on stderr, want one: %q", extra, n+1, errb.String())
		}
	}
}

func TestAgentFlagsFromEnvironment(t *testing.T) {
	t.Setenv("DYNAMO_W", "5")
	t.Setenv("DYNAMO_N", "3")
	var out, errb bytes.Buffer
	code := run([]string{"agent", "--name", "a", "--data-dir", t.TempDir(), "--gossip-addr", "127.0.0.1:0", "--actor-addr", "127.0.0.1:0", "--http-addr", ""}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "--w: must be from 1 to n=3, got 5") {
		t.Fatalf("DYNAMO_W=5: exit %d, stderr %q", code, errb.String())
	}
	// The command line wins over the environment.
	t.Setenv("DYNAMO_W", "2")
	errb.Reset()
	code = run([]string{"agent", "--w", "9", "--name", "a", "--data-dir", t.TempDir(), "--gossip-addr", "127.0.0.1:0", "--actor-addr", "127.0.0.1:0", "--http-addr", ""}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "got 9") {
		t.Fatalf("--w 9 with DYNAMO_W=2: exit %d, stderr %q", code, errb.String())
	}
	t.Setenv("DYNAMO_WEIGHT", "heavy")
	errb.Reset()
	if code := run([]string{"agent", "--name", "a"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "DYNAMO_WEIGHT") {
		t.Fatalf("DYNAMO_WEIGHT=heavy: exit %d, stderr %q", code, errb.String())
	}
}
