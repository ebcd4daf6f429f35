package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/dynamokv/dynamo/ring"
)

func TestRingKeyShowsPreferenceList(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"ring", "--members", "a,b,c,d,e", "--key", "cart:42"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want, _ := ring.New(ring.Config{Partitions: 64, N: 3}, []ring.Member{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}, {Name: "c", Weight: 1}, {Name: "d", Weight: 1}, {Name: "e", Weight: 1}})
	p := want.Partition([]byte("cart:42"))
	pl := want.PreferenceList(p)
	if !strings.Contains(out.String(), "primaries: "+strings.Join(pl[:3], " ")) || !strings.Contains(out.String(), "fallbacks: "+strings.Join(pl[3:], " ")) {
		t.Fatalf("output %q does not match the ring's preference list %v", out.String(), pl)
	}
}

func TestRingLoadsAndErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"ring", "--members", "a:2:r1,b:1:r2,c:1:r3,d:1:r1", "--partitions", "128"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "balance") || !strings.Contains(out.String(), "r1") {
		t.Fatalf("output: %s", out.String())
	}
	for args, want := range map[string][]string{
		"required":           {"ring", "--members", ""},
		"weight \"x\"":       {"ring", "--members", "a:x"},
		"power of two":       {"ring", "--members", "a", "--partitions", "7"},
		"unknown command":    {"frobnicate"},
		"appears twice":      {"ring", "--members", "a,a"},
		"want name[:weight[": {"ring", "--members", "a:1:z:extra"},
	} {
		errb.Reset()
		if code := run(want, &out, &errb); code != 2 || !strings.Contains(errb.String(), args) {
			t.Errorf("%v: exit %d, stderr %q, want %q", want, code, errb.String(), args)
		}
	}
	out.Reset()
	if run([]string{"version"}, &out, &errb) != 0 || !strings.Contains(out.String(), "protocol 1") {
		t.Fatalf("version: %q", out.String())
	}
}

// Every command of the table is listed in doc.go and in the usage, and
// every cluster command the table dispatches to exists.
func TestEveryCommandIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 2 {
		t.Fatalf("no command: exit %d", code)
	}
	for _, c := range commands {
		if !strings.Contains(string(doc), "//\tdynamo "+c.name+" ") && !strings.Contains(string(doc), "//\tdynamo "+c.name+"\n") {
			t.Errorf("doc.go does not list dynamo %s", c.name)
		}
		if !strings.Contains(errb.String(), "  "+c.name+" ") {
			t.Errorf("the usage does not list %s", c.name)
		}
	}
	for name := range kvCommands {
		if !slices.ContainsFunc(commands, func(c command) bool { return c.name == name }) {
			t.Errorf("cluster command %s is not in the commands table", name)
		}
	}
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "known: agent, dev") {
		t.Fatalf("unknown command: exit %d %q", code, errb.String())
	}
}
