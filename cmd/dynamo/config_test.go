package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests call resolveAgent, which resolves the agent's settings
// without starting a node, with a fake environment so that DYNAMO_*
// variables of the machine running them do not leak in.

func fakeEnv(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func writeTOML(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dynamo.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustResolve(t *testing.T, args []string, env map[string]string) *agentConfig {
	t.Helper()
	ac, err := resolveAgent(args, fakeEnv(env), io.Discard)
	if err != nil {
		t.Fatalf("resolveAgent(%q, %v): %v", args, env, err)
	}
	return ac
}

func resolveErr(t *testing.T, args []string, env map[string]string) string {
	t.Helper()
	var stderr bytes.Buffer
	_, err := resolveAgent(args, fakeEnv(env), &stderr)
	if err == nil {
		t.Fatalf("resolveAgent(%q, %v): no error", args, env)
	}
	return err.Error()
}

// One key through all four layers: each layer present overrides the ones
// below it, and the source recorded is the layer that won.
func TestConfigPrecedenceAllLayers(t *testing.T) {
	file := writeTOML(t, "weight = 5\n")
	env := map[string]string{"DYNAMO_WEIGHT": "7"}
	for _, c := range []struct {
		args   []string
		env    map[string]string
		weight int
		source string
	}{
		{nil, nil, 1, "default"},
		{[]string{"--config", file}, nil, 5, "file"},
		{[]string{"--config", file}, env, 7, "env DYNAMO_WEIGHT"},
		{[]string{"--config", file, "--weight", "9"}, env, 9, "flag"},
		{[]string{"--weight", "9"}, nil, 9, "flag"},
	} {
		ac := mustResolve(t, c.args, c.env)
		if ac.Node.Weight != c.weight || ac.sources["weight"] != c.source {
			t.Errorf("args %q env %v: weight %d from %q, want %d from %q", c.args, c.env, ac.Node.Weight, ac.sources["weight"], c.weight, c.source)
		}
	}
}

// A list key: a TOML array or a comma string in the file, a comma string
// in the environment and on the command line; a higher layer replaces the
// list, it does not add to it.
func TestConfigPrecedenceListKey(t *testing.T) {
	array := writeTOML(t, `join = ["10.0.0.2:7946", "10.0.0.3:7946"]`+"\n")
	comma := writeTOML(t, `join = "10.0.0.4:7946, 10.0.0.5:7946"`+"\n")
	env := map[string]string{"DYNAMO_JOIN": "10.0.0.6:7946,10.0.0.7:7946"}
	for _, c := range []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{nil, nil, nil},
		{[]string{"--config", array}, nil, []string{"10.0.0.2:7946", "10.0.0.3:7946"}},
		{[]string{"--config", comma}, nil, []string{"10.0.0.4:7946", "10.0.0.5:7946"}},
		{[]string{"--config", array}, env, []string{"10.0.0.6:7946", "10.0.0.7:7946"}},
		{[]string{"--config", array, "--join", "10.0.0.8:7946"}, env, []string{"10.0.0.8:7946"}},
	} {
		if got := mustResolve(t, c.args, c.env).Node.Join; !slices.Equal(got, c.want) {
			t.Errorf("args %q env %v: join %q, want %q", c.args, c.env, got, c.want)
		}
	}
}

// The file is --config, else DYNAMO_CONFIG; --config wins.
func TestConfigFileFromEnvironment(t *testing.T) {
	a, b := writeTOML(t, "zone = \"a\"\n"), writeTOML(t, "zone = \"b\"\n")
	env := map[string]string{"DYNAMO_CONFIG": a}
	if z := mustResolve(t, nil, env).Node.Zone; z != "a" {
		t.Errorf("DYNAMO_CONFIG: zone %q, want a", z)
	}
	if z := mustResolve(t, []string{"--config", b}, env).Node.Zone; z != "b" {
		t.Errorf("--config over DYNAMO_CONFIG: zone %q, want b", z)
	}
}

func TestConfigFileTypes(t *testing.T) {
	file := writeTOML(t, `gossip-addr = "10.0.0.1:7946"
n = 3
fast-gossip = true
timeout = "2s"
name = "n1"
`)
	c := mustResolve(t, []string{"--config", file}, nil).Node
	if c.GossipAddr != "10.0.0.1:7946" || c.N != 3 || !c.FastGossip || c.Timeout != 2*time.Second || c.Name != "n1" {
		t.Fatalf("config %+v does not hold the file's values", c)
	}
	if c.DataDir != filepath.Join("data", "n1") {
		t.Errorf("data dir %q, want data/n1 from the name in the file", c.DataDir)
	}
}

func TestConfigUnknownKeyNamesKeyFileLineAndSuggestion(t *testing.T) {
	file := writeTOML(t, "# a comment\nn = 3\ngosip-addr = \"10.0.0.1:7946\"\n")
	want := `config file ` + file + ` line 3: unknown key "gosip-addr" (did you mean "gossip-addr"?)`
	if got := resolveErr(t, []string{"--config", file}, nil); got != want {
		t.Errorf("error %q\nwant   %q", got, want)
	}
	file = writeTOML(t, "colour = \"blue\"\n")
	if got := resolveErr(t, []string{"--config", file}, nil); !strings.Contains(got, `unknown key "colour"`) || strings.Contains(got, "did you mean") {
		t.Errorf("error %q: want the key and no suggestion", got)
	}
	// Through the command: one line, prefixed, exit 2.
	var out, errb bytes.Buffer
	file = writeTOML(t, "gosip-addr = \"x\"\n")
	if code := run([]string{"agent", "--config", file}, &out, &errb); code != 2 || !strings.HasPrefix(errb.String(), "dynamo agent: config file "+file+" line 1: unknown key") || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

func TestConfigBadTypeNamesKeyAndKind(t *testing.T) {
	for text, want := range map[string][]string{
		`n = "3"`:               {`line 1: key "n"`, "an integer", `string "3"`},
		`fast-gossip = "yes"`:   {`key "fast-gossip"`, "a boolean"},
		`timeout = 2`:           {`key "timeout"`, "a duration", "integer 2"},
		`timeout = "2x"`:        {`key "timeout"`, `invalid value "2x"`, "a duration"},
		`join = [1, 2]`:         {`key "join"`, "list of strings"},
		`name = ["a"]`:          {`key "name"`, "a string", "array"},
		`weight = 1.5`:          {`key "weight"`, "an integer", "float 1.5"},
		`config = "other.toml"`: {`key "config" is not allowed`},
		`print-config = true`:   {`key "print-config" is not allowed`},
		`log-level = "loud"`:    {"--log-level", "debug, info, warn or error", "config file"},
		`log-format = "xml"`:    {"--log-format", "text or json", "config file"},
	} {
		file := writeTOML(t, text+"\n")
		got := resolveErr(t, []string{"--config", file}, nil)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: error %q does not contain %q", text, got, w)
			}
		}
	}
}

// A bad key is reported even when a flag overrides it: the file is wrong
// whatever wins.
func TestConfigBadKeyReportedWhenOverridden(t *testing.T) {
	file := writeTOML(t, `timeout = "soon"`+"\n")
	if got := resolveErr(t, []string{"--config", file, "--timeout", "1s"}, nil); !strings.Contains(got, `key "timeout"`) {
		t.Errorf("error %q", got)
	}
}

func TestConfigSyntaxErrorAndMissingFile(t *testing.T) {
	file := writeTOML(t, "n = 3\nw = = 2\n")
	if got := resolveErr(t, []string{"--config", file}, nil); !strings.Contains(got, "config file "+file+" line 2:") {
		t.Errorf("syntax error: %q, want the file and line 2", got)
	}
	missing := filepath.Join(t.TempDir(), "nope.toml")
	if got := resolveErr(t, nil, map[string]string{"DYNAMO_CONFIG": missing}); !strings.Contains(got, missing) || !strings.Contains(got, "cannot read") {
		t.Errorf("missing file: %q", got)
	}
}

func TestConfigEnvironmentBadValueNamesVariableAndKind(t *testing.T) {
	got := resolveErr(t, nil, map[string]string{"DYNAMO_TIMEOUT": "soon"})
	if !strings.Contains(got, "DYNAMO_TIMEOUT") || !strings.Contains(got, "a duration") {
		t.Errorf("error %q", got)
	}
	// --print-config is an action, never read from the environment.
	if mustResolve(t, nil, map[string]string{"DYNAMO_PRINT_CONFIG": "true"}).PrintConfig {
		t.Error("DYNAMO_PRINT_CONFIG turned --print-config on")
	}
}

func printConfig(t *testing.T, ac *agentConfig) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeConfig(&b, ac.flags, ac.sources, ac.file); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var tomlComment = regexp.MustCompile(`(?m)\s*#.*$`)

// The printed configuration is a config file: loaded back, it gives the
// same values, printed the same way.
func TestPrintConfigRoundTrip(t *testing.T) {
	file := writeTOML(t, `timeout = "2s"`+"\n"+`join = ["10.0.0.2:7946", "10.0.0.3:7946"]`+"\n")
	args := []string{"--config", file, "--name", `odd "name"\x`, "--print-config", "--lww"}
	first := mustResolve(t, args, map[string]string{"DYNAMO_W": "1", "DYNAMO_ZONE": "rack-1"})
	out := printConfig(t, first)
	for _, want := range []string{
		`timeout = "2s"`, `join = ["10.0.0.2:7946", "10.0.0.3:7946"]`, "# file", "# env DYNAMO_W", "# env DYNAMO_ZONE",
		"# flag", "# default", "lww = true", "w = 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--print-config output lacks %q:\n%s", want, out)
		}
	}
	fs, _ := agentFlags(io.Discard, "h")
	fs.VisitAll(func(f *flag.Flag) {
		_, skip := notInFile[f.Name]
		if has := strings.Contains(out, "\n"+f.Name+" = "); has == skip {
			t.Errorf("--print-config: key %s printed %v, want %v", f.Name, has, !skip)
		}
	})

	second := mustResolve(t, []string{"--config", writeTOML(t, out)}, nil)
	again := printConfig(t, second)
	if a, b := tomlComment.ReplaceAllString(out, ""), tomlComment.ReplaceAllString(again, ""); a != b {
		t.Errorf("values differ after a round trip:\n%s\n---\n%s", a, b)
	}
	c1, c2 := first.Node, second.Node
	c1.Logger, c2.Logger = nil, nil
	if !reflect.DeepEqual(c1, c2) {
		t.Errorf("node config differs after a round trip:\n%+v\n%+v", c1, c2)
	}
}

// dynamo agent --print-config prints and exits 0 without starting a node
// (the addresses given could not be listened on).
func TestPrintConfigDoesNotStart(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"agent", "--print-config", "--gossip-addr", "192.0.2.1:7946", "--actor-addr", "192.0.2.1:8946"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if !strings.Contains(out.String(), `gossip-addr = "192.0.2.1:7946"`) || !strings.Contains(out.String(), "# flag") || errb.Len() != 0 {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
}

func TestLogLinesCarryNodeName(t *testing.T) {
	var b bytes.Buffer
	ac, err := resolveAgent([]string{"--name", "n1", "--log-format", "json"}, fakeEnv(nil), &b)
	if err != nil {
		t.Fatal(err)
	}
	ac.Node.Logger.Info("hello", "k", 1)
	var line map[string]any
	if err := json.Unmarshal(b.Bytes(), &line); err != nil {
		t.Fatalf("log line %q is not JSON: %v", b.String(), err)
	}
	if line["node"] != "n1" || line["msg"] != "hello" {
		t.Errorf("JSON log line %v: want node n1 and msg hello", line)
	}
	b.Reset()
	ac, err = resolveAgent([]string{"--name", "n2"}, fakeEnv(nil), &b)
	if err != nil {
		t.Fatal(err)
	}
	ac.Node.Logger.With("component", "x").Warn("hello")
	if !strings.Contains(b.String(), "node=n2") || !strings.Contains(b.String(), "level=WARN") {
		t.Errorf("text log line %q: want node=n2", b.String())
	}
	b.Reset()
	ac, err = resolveAgent([]string{"--name", "n3", "--log-level", "warn"}, fakeEnv(nil), &b)
	if err != nil {
		t.Fatal(err)
	}
	if ac.Node.Logger.Info("quiet"); b.Len() != 0 {
		t.Errorf("--log-level warn logged an info line: %q", b.String())
	}
}

// docs/configuration.md documents every key: a flag added without a line
// in its table fails here.
func TestConfigDocListsEveryFlag(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := agentFlags(io.Discard, "h")
	fs.VisitAll(func(f *flag.Flag) {
		if !bytes.Contains(doc, []byte("| `"+f.Name+"` |")) {
			t.Errorf("docs/configuration.md has no table row for --%s", f.Name)
		}
		if _, ok := notInFile[f.Name]; !ok && !bytes.Contains(doc, []byte(envName(f.Name))) {
			t.Errorf("docs/configuration.md does not name %s", envName(f.Name))
		}
	})
}

func TestExampleConfigLoads(t *testing.T) {
	path := filepath.Join("..", "..", "examples", "dynamo.toml")
	ac := mustResolve(t, []string{"--config", path}, nil)
	n := 0
	for _, src := range ac.sources {
		if src == srcFile {
			n++
		}
	}
	if n < 5 {
		t.Errorf("examples/dynamo.toml sets %d keys, want the common ones", n)
	}
}
