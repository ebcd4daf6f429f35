package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// A setting comes from one of four layers; the first that has it wins:
// the command line, a DYNAMO_* environment variable, the config file
// (--config), the flag's built-in default. Everything here walks the
// FlagSet, so a flag added to a command is a config file key, an
// environment variable and a --print-config line without more code.
const (
	srcFlag    = "flag"
	srcFile    = "file"
	srcDefault = "default"
)

// Flags that are actions or that point at the file itself: they are not
// settings, so a config file may not hold them, --print-config does not
// print them and (print-config) the environment does not set them — a
// forgotten DYNAMO_PRINT_CONFIG would silently keep every agent from
// starting.
var notInFile = map[string]string{
	"config":       "the config file cannot name another one (give --config or DYNAMO_CONFIG)",
	"print-config": "it is a command-line action, not a setting",
}

var notFromEnv = map[string]bool{"print-config": true}

// envName is the environment variable of a flag: --gossip-addr is
// DYNAMO_GOSSIP_ADDR.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// flagError is an error the flag package has already written, with the
// usage, to the FlagSet's output: callers must not print it again.
type flagError struct{ error }

// resolveFlags sets every flag of fs from its layers and returns where each
// value came from: srcFlag, "env DYNAMO_X", srcFile or srcDefault. The
// file is the value of fs's "config" flag, if fs has one (from the command
// line, else from DYNAMO_CONFIG). Layers are applied lowest first so that
// every key of the file is checked even when a higher layer overrides it;
// the command line is then parsed again to put its values back on top.
// A deprecated spelling of a flag (deprecatedFlags) sets the flag it
// stands for, in every layer, with a warning on fs's output.
func resolveFlags(fset *flag.FlagSet, args []string, lookupEnv func(string) (string, bool)) (map[string]string, error) {
	dep := newDeprecations(fset)
	args = dep.args(args)
	if err := fset.Parse(args); err != nil {
		return nil, flagError{err}
	}
	given := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { given[f.Name] = true })
	src := map[string]string{}
	fset.VisitAll(func(f *flag.Flag) { src[f.Name] = srcDefault })
	if path := configPath(fset, given, lookupEnv); path != "" {
		if err := loadConfigFile(fset, path, src, dep); err != nil {
			return nil, err
		}
	}
	if err := applyEnv(fset, given, src, lookupEnv, dep); err != nil {
		return nil, err
	}
	if err := fset.Parse(args); err != nil {
		return nil, flagError{err}
	}
	for name := range given {
		src[name] = srcFlag
	}
	return src, nil
}

// configPath is the config file to load: --config, else DYNAMO_CONFIG,
// else none ("" also when fs has no config flag, as dynamo dev).
func configPath(fset *flag.FlagSet, given map[string]bool, lookupEnv func(string) (string, bool)) string {
	f := fset.Lookup("config")
	if f == nil {
		return ""
	}
	if given[f.Name] {
		return f.Value.String()
	}
	v, _ := lookupEnv(envName(f.Name))
	return v
}

// applyEnv sets each flag not given on the command line from its DYNAMO_*
// variable (or that of an old spelling), over the file's value.
func applyEnv(fset *flag.FlagSet, given map[string]bool, src map[string]string, lookupEnv func(string) (string, bool), dep *deprecations) error {
	var err error
	fset.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] || notFromEnv[f.Name] {
			return
		}
		env, v, ok := dep.env(f.Name, lookupEnv)
		if !ok {
			return
		}
		if e := fset.Set(f.Name, v); e != nil {
			err = fmt.Errorf("%s=%q: %v (want %s)", env, v, e, kindOf(f).want())
			return
		}
		src[f.Name] = "env " + env
	})
	return err
}

// loadConfigFile sets flags from the TOML file at path, one top-level key
// per flag, in file order so that the first bad line is the one reported.
func loadConfigFile(fset *flag.FlagSet, path string, src map[string]string, dep *deprecations) error {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("config file %s: cannot read it: %v", path, err)
	}
	// Each value is kept as a Primitive and decoded on its own into a
	// fileKey: an error returned while decoding it comes back from the
	// toml package with the key's line, which it does not expose otherwise.
	var keys map[string]toml.Primitive
	md, err := toml.Decode(string(data), &keys)
	if err != nil {
		return tomlError(path, err)
	}
	for _, k := range md.Keys() {
		if len(k) != 1 {
			continue // inside a table: the table's own key is reported
		}
		fk := &fileKey{fs: fset, name: dep.fileKey(k[0])}
		if err := md.PrimitiveDecode(keys[k[0]], fk); err != nil {
			return tomlError(path, err)
		}
		src[fk.name] = srcFile
	}
	return nil
}

// tomlError names the file and, when the toml package knows it, the line.
func tomlError(path string, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("config file %s: %v", path, err)
	}
	return fmt.Errorf("config file %s line %d: %s", path, pe.Position.Line, pe.Message)
}

// fileKey sets the flag named like a config file key from its TOML value.
type fileKey struct {
	fs   *flag.FlagSet
	name string
}

func (k *fileKey) UnmarshalTOML(data any) error {
	if why, ok := notInFile[k.name]; ok {
		return fmt.Errorf("key %q is not allowed in a config file: %s", k.name, why)
	}
	f := k.fs.Lookup(k.name)
	if f == nil {
		if s := suggestFlag(k.fs, k.name); s != "" {
			return fmt.Errorf("unknown key %q (did you mean %q?)", k.name, s)
		}
		return fmt.Errorf("unknown key %q (the keys are the flag names: %s --help)", k.name, k.fs.Name())
	}
	v, err := flagText(f, data)
	if err != nil {
		return err
	}
	if err := k.fs.Set(f.Name, v); err != nil {
		return fmt.Errorf("key %q: invalid value %q: %v (want %s)", f.Name, v, err, kindOf(f).want())
	}
	return nil
}

// flagText turns a TOML value into the text fs.Set takes, refusing a value
// of another type than the flag's: n = "3" or timeout = 2 are mistakes
// better reported than guessed at.
func flagText(f *flag.Flag, data any) (string, error) {
	kind := kindOf(f)
	switch v := data.(type) {
	case string:
		if kind == kindString || kind == kindDuration || kind == kindList {
			return v, nil
		}
	case bool:
		if kind == kindBool {
			return strconv.FormatBool(v), nil
		}
	case int64:
		if kind == kindInt || kind == kindFloat {
			return strconv.FormatInt(v, 10), nil
		}
	case float64:
		if kind == kindFloat {
			return strconv.FormatFloat(v, 'g', -1, 64), nil
		}
	case []any:
		if kind == kindList {
			return listText(f.Name, v)
		}
	}
	return "", fmt.Errorf("key %q wants %s, got %s", f.Name, kind.want(), tomlKind(data))
}

// listText joins a TOML array of strings the way a list flag reads it.
func listText(name string, items []any) (string, error) {
	parts := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return "", fmt.Errorf("key %q wants a list of strings, got %s at index %d", name, tomlKind(it), i)
		}
		if strings.Contains(s, ",") {
			return "", fmt.Errorf("key %q: item %q contains a comma (give one item per string)", name, s)
		}
		parts[i] = s
	}
	return strings.Join(parts, ","), nil
}

func tomlKind(data any) string {
	switch v := data.(type) {
	case string:
		return fmt.Sprintf("string %q", v)
	case bool:
		return fmt.Sprintf("boolean %t", v)
	case int64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		return fmt.Sprintf("float %g", v)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", data)
}

// flagKind is what a flag holds, read from flag.Getter, which the flag
// package's own values and stringList implement.
type flagKind int

const (
	kindString flagKind = iota
	kindBool
	kindInt
	kindFloat
	kindDuration
	kindList
)

func kindOf(f *flag.Flag) flagKind {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return kindString
	}
	switch g.Get().(type) {
	case bool:
		return kindBool
	case int, int64, uint, uint64:
		return kindInt
	case float64:
		return kindFloat
	case time.Duration:
		return kindDuration
	case []string:
		return kindList
	}
	return kindString
}

func (k flagKind) want() string {
	switch k {
	case kindBool:
		return "a boolean (true or false)"
	case kindInt:
		return "an integer"
	case kindFloat:
		return "a number"
	case kindDuration:
		return `a duration string such as "2s" or "500ms"`
	case kindList:
		return `a list of strings such as ["a", "b"] or a comma-separated string`
	}
	return "a string"
}

// stringList is a list flag: comma-separated on the command line and in
// DYNAMO_* variables, a TOML array (or a comma-separated string) in a
// config file. Set replaces the list, so a value from a lower layer is
// never merged with one from a higher layer.
type stringList []string

func (l *stringList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *stringList) Set(s string) error { *l = splitList(s); return nil }

func (l *stringList) Get() any { return []string(*l) }

// suggestFlag is the flag name closest to a mistyped key, or "" when none
// is close: within a third of the key's length, and never by rewriting
// all of it (a key "a" is not a typo of "n").
func suggestFlag(fset *flag.FlagSet, key string) string {
	norm := strings.ToLower(strings.ReplaceAll(key, "_", "-"))
	best, bestDist := "", min(max(1, len(norm)/3), len(norm)-1)+1
	fset.VisitAll(func(f *flag.Flag) {
		if _, no := notInFile[f.Name]; no {
			return
		}
		if d := editDistance(norm, f.Name); d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// writeConfig prints every setting of fs as a config file: TOML, one key
// per flag with its effective value and, as a comment, the layer it came
// from. Loading the output as --config gives the same values.
func writeConfig(w io.Writer, fset *flag.FlagSet, src map[string]string, file string) error {
	fmt.Fprintf(w, "# %s: effective configuration\n", fset.Name())
	fmt.Fprintln(w, "# precedence: command-line flag > DYNAMO_* environment variable > config file > default")
	if file != "" {
		fmt.Fprintf(w, "# config file: %s\n", file)
	}
	var lines, comments []string
	var err error
	fset.VisitAll(func(f *flag.Flag) {
		if _, no := notInFile[f.Name]; no || err != nil {
			return
		}
		var line string
		if line, err = tomlLine(f); err == nil {
			lines, comments = append(lines, line), append(comments, src[f.Name])
		}
	})
	if err != nil {
		return err
	}
	width := 0
	for _, l := range lines {
		width = max(width, len(l))
	}
	for i, l := range lines {
		fmt.Fprintf(w, "%-*s  # %s\n", width, l, comments[i])
	}
	return nil
}

// tomlLine is `key = value` for f's current value, encoded by the toml
// package so that strings are quoted and escaped as TOML wants.
func tomlLine(f *flag.Flag) (string, error) {
	var v any = f.Value.String()
	if g, ok := f.Value.(flag.Getter); ok {
		switch x := g.Get().(type) {
		case time.Duration:
			v = x.String()
		case []string:
			v = append([]string{}, x...) // never nil: the encoder skips nil
		case bool, int, int64, uint, uint64, float64, string:
			v = x
		}
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(map[string]any{f.Name: v}); err != nil {
		return "", fmt.Errorf("--print-config: %s: %v", f.Name, err)
	}
	return strings.TrimSpace(b.String()), nil
}
