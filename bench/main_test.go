package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

func TestRingJSONLines(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"ring", "-min", "3", "-max", "6", "-partitions", "64", "-cases", "equal,zones", "-json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 8 {
		t.Fatalf("want 8 JSON lines (2 cases × 4 sizes), got %d:\n%s", len(lines), out.String())
	}
	for i, l := range lines {
		var row map[string]any
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("line %d is not JSON: %q", i, l)
		}
		for _, k := range []string{"nodes", "partitions", "n", "balance", "join_movement", "leave_movement"} {
			if _, ok := row[k]; !ok {
				t.Fatalf("line %d lacks %q: %s", i, k, l)
			}
		}
		if row["partitions"].(float64) != 64 || row["n"].(float64) != 3 || row["nodes"].(float64) != float64(3+i%4) {
			t.Fatalf("line %d: %s", i, l)
		}
		if b := row["balance"].(float64); b < 1 || b > 1.2 {
			t.Fatalf("line %d: implausible balance %v", i, b)
		}
	}
}

func TestRingTableAndErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"ring", "-min", "4", "-max", "5", "-partitions", "32"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"balance", "join movement", "equal", "mixed", "zones", "worst"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, out.String())
		}
	}
	for _, args := range [][]string{{"ring", "-partitions", "100"}, {"ring", "-min", "9", "-max", "3"}, {"ring", "-cases", "bogus"}, {"nope"}, {}} {
		errb.Reset()
		if code := run(args, &out, &errb); code != 2 || errb.Len() == 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
	errb.Reset()
	run([]string{"ring", "-partitions", "100", "-max", "3"}, &out, &errb)
	if !strings.Contains(errb.String(), "power of two") {
		t.Fatalf("bad Q error does not name the limit: %q", errb.String())
	}
}

// bench fsync, as a process (it re-executes itself): a row per rate, the
// ratios of a load beside fsyncs and beside plain writes to the load alone.
func TestFsyncCost(t *testing.T) {
	out, err := exec.Command(benchBinary(t), "fsync", "--rates", "50", "--duration", "200ms", "--dir", t.TempDir()).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var rate int
	var with, without float64
	for _, line := range strings.Split(string(out), "\n") {
		if n, _ := fmt.Sscanf(line, "%d %f %f", &rate, &with, &without); n == 3 {
			break
		}
	}
	if rate != 50 || with <= 0 || without <= 0 {
		t.Fatalf("no row for rate 50 in:\n%s", out)
	}
	if out, err := exec.Command(benchBinary(t), "fsync", "--rates", "x").CombinedOutput(); err == nil || !strings.Contains(string(out), "--rates") {
		t.Fatalf("a bad rate: %v\n%s", err, out)
	}
}

func TestWire(t *testing.T) {
	for _, args := range [][]string{
		{"--workload", "put"},
		{"--workload", "get", "--spawn", "--futures"},
		{"--workload", "put", "--spawn", "--batch", "5"},
		{"--workload", "get"},
		{"--workload", "put", "--spawn", "--coalesce", "2", "--futures"},
	} {
		out, err := exec.Command(benchBinary(t), append([]string{"wire", "--duration", "300ms", "--keys", "100"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		var op string
		var count, errs int
		for _, line := range strings.Split(string(out), "\n") {
			if n, _ := fmt.Sscanf(line, "%s %d %d", &op, &count, &errs); n == 3 {
				break
			}
		}
		if op != args[1] || count < 10 || errs != 0 {
			t.Fatalf("%v: want a %s row with requests and no errors in:\n%s", args, args[1], out)
		}
	}
	for flag, args := range map[string][]string{
		"--workload": {"--workload", "A"},
		"--batch":    {"--workload", "get", "--batch", "2"},
		"--vs":       {"--vs", "redis"},
		"--coalesce": {"--coalesce", "1", "--batch", "2"},
	} {
		if out, err := exec.Command(benchBinary(t), append([]string{"wire"}, args...)...).CombinedOutput(); err == nil || !strings.Contains(string(out), flag) {
			t.Fatalf("%v: want an error naming %s: %v\n%s", args, flag, err, out)
		}
	}
}
