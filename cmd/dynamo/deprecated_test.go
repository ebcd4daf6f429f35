package main

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// sampleValue is a value for the flag named name that differs from its
// default, and the value's text as the flag prints it.
func sampleValue(t *testing.T, name string) (in, want string) {
	t.Helper()
	fs, _ := agentFlags(io.Discard, "h")
	f := fs.Lookup(name)
	if f == nil {
		t.Fatalf("deprecatedFlags names --%s, which the agent does not have", name)
	}
	switch kindOf(f) {
	case kindDuration:
		return "250ms", "250ms"
	case kindInt:
		return "1234", "1234"
	}
	t.Fatalf("--%s: add a sample value of its kind to sampleValue", name)
	return "", ""
}

// Every old spelling of a flag still sets the flag it stands for, on the
// command line (-x v, --x v, --x=v), as a DYNAMO_* variable and as a
// config file key, and prints one warning line naming the new spelling;
// the new spelling sets it without a warning.
func TestDeprecatedFlagsStillSetTheValueAndWarn(t *testing.T) {
	if len(deprecatedFlags) == 0 {
		t.Skip("no deprecated flags")
	}
	for old, to := range deprecatedFlags {
		in, want := sampleValue(t, to)
		warning := "dynamo: flag --" + old + " is deprecated; use --" + to + "\n"
		for _, c := range []struct {
			name, warning string
			args          []string
			env           map[string]string
		}{
			{"--old", warning, []string{"--" + old, in}, nil},
			{"-old", warning, []string{"-" + old, in}, nil},
			{"--old=", warning, []string{"--" + old + "=" + in}, nil},
			{"twice", warning, []string{"--" + old, in, "--name", "x", "--" + old, in}, nil},
			{"after a value that looks like a flag", warning, []string{"--zone", "-" + old, "--" + old, in}, nil},
			{"env", "dynamo: " + envName(old) + " is deprecated; use " + envName(to) + "\n", nil, map[string]string{envName(old): in}},
			{"config file", "dynamo: config file key " + old + " is deprecated; use " + to + "\n",
				[]string{"--config", writeTOML(t, old+" = "+tomlValue(in)+"\n")}, nil},
			{"new", "", []string{"--" + to, in}, nil},
			{"new env", "", nil, map[string]string{envName(to): in}},
			{"new env wins over old env", "", nil, map[string]string{envName(to): in, envName(old): "1"}},
		} {
			var stderr bytes.Buffer
			ac, err := resolveAgent(c.args, fakeEnv(c.env), &stderr)
			if err != nil {
				t.Errorf("%s: %s: %v", old, c.name, err)
				continue
			}
			if got := ac.flags.Lookup(to).Value.String(); got != want {
				t.Errorf("%s: %s: --%s is %s, want %s", old, c.name, to, got, want)
			}
			if stderr.String() != c.warning {
				t.Errorf("%s: %s: stderr %q, want %q", old, c.name, stderr.String(), c.warning)
			}
		}
	}
	// The values reach the node's config.
	args := []string{}
	for old := range deprecatedFlags {
		in, _ := sampleValue(t, deprecatedFlags[old])
		args = append(args, "--"+old, in)
	}
	c := mustResolve(t, args, nil).Node
	if c.AntiEntropyInterval != 250*time.Millisecond || c.AntiEntropyRate != 1234 {
		t.Errorf("old spellings: interval %v, rate %d; want 250ms, 1234", c.AntiEntropyInterval, c.AntiEntropyRate)
	}
	c = mustResolve(t, []string{"--anti-entropy-interval", "250ms", "--anti-entropy-rate", "1234"}, nil).Node
	if c.AntiEntropyInterval != 250*time.Millisecond || c.AntiEntropyRate != 1234 {
		t.Errorf("new spellings: interval %v, rate %d; want 250ms, 1234", c.AntiEntropyInterval, c.AntiEntropyRate)
	}
}

func tomlValue(text string) string {
	if _, err := time.ParseDuration(text); err == nil {
		return `"` + text + `"`
	}
	return text
}

// Through the command: the warning is one line on stderr, and the value
// is printed under the new name. The old names are in neither --help nor
// --print-config, and an invalid value is reported under the new name.
func TestDeprecatedFlagsThroughTheCommand(t *testing.T) {
	for old, to := range deprecatedFlags {
		in, want := sampleValue(t, to)
		var out, errb bytes.Buffer
		if code := run([]string{"agent", "--print-config", "--" + old, in}, &out, &errb); code != 0 {
			t.Fatalf("--%s: exit %d, stderr %q", old, code, errb.String())
		}
		if got, w := errb.String(), "dynamo: flag --"+old+" is deprecated; use --"+to+"\n"; got != w {
			t.Errorf("--%s: stderr %q, want %q", old, got, w)
		}
		if !strings.Contains(out.String(), "\n"+to+" = "+tomlValue(want)) || strings.Contains(out.String(), old) {
			t.Errorf("--%s: --print-config prints\n%s", old, out.String())
		}

		errb.Reset()
		run([]string{"agent", "--help"}, &out, &errb)
		if !strings.Contains(errb.String(), "-"+to) || strings.Contains(errb.String(), old) {
			t.Errorf("--help: want -%s and not -%s:\n%s", to, old, errb.String())
		}

		errb.Reset()
		dir := t.TempDir()
		code := run([]string{"agent", "--name", "a", "--data-dir", dir, "--gossip-addr", "127.0.0.1:0", "--actor-addr", "127.0.0.1:0", "--http-addr", "", "--" + old, "0"}, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), "--"+to+": must be") {
			t.Errorf("--%s 0: exit %d, stderr %q, want an error naming --%s", old, code, errb.String(), to)
		}
	}
	// Only the agent has them: a FlagSet without the new flag does not
	// rename the old one (it stays an unknown flag).
	fs := flag.NewFlagSet("other", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for old := range deprecatedFlags {
		if _, err := resolveFlags(fs, []string{"--" + old, "1"}, fakeEnv(nil)); err == nil {
			t.Errorf("a FlagSet without the new flag accepted --%s", old)
		}
	}
}
