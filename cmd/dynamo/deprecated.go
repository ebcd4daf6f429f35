package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
)

// deprecatedFlags maps the old spellings of renamed flags to their names
// now. An old spelling still sets the same value wherever a flag can be
// given (the command line, its DYNAMO_* variable, a config file key), and
// each one used prints one line to stderr naming the new spelling. They
// are not flags of the FlagSet: --help, --print-config and
// docs/configuration.md know only the new names.
var deprecatedFlags = map[string]string{
	"aae-interval": "anti-entropy-interval",
	"aae-rate":     "anti-entropy-rate",
}

// deprecations writes the warnings of one resolution of a FlagSet's
// settings, one line per old spelling used.
type deprecations struct {
	fset   *flag.FlagSet
	warned map[string]bool
}

func newDeprecations(fset *flag.FlagSet) *deprecations {
	return &deprecations{fset: fset, warned: map[string]bool{}}
}

// renamed is the flag an old spelling stands for in fset, if name is one.
func (d *deprecations) renamed(name string) (string, bool) {
	to, ok := deprecatedFlags[name]
	if !ok || d.fset.Lookup(to) == nil || d.fset.Lookup(name) != nil {
		return "", false
	}
	return to, true
}

// warn says that old is deprecated and to use instead.
func (d *deprecations) warn(old, instead string) {
	if d.warned[old] {
		return
	}
	d.warned[old] = true
	fmt.Fprintf(d.fset.Output(), "dynamo: %s is deprecated; use %s\n", old, instead)
}

// args returns args with the old spelling of each flag replaced by its
// new name. It reads the flags as flag.Parse does (-name or --name,
// with =value or, unless a boolean, the next argument as the value) and
// stops where Parse would: at "--", at the first argument that is not a
// flag, or at an unknown flag, which Parse then reports.
func (d *deprecations) args(args []string) []string {
	out, copied := args, false
	for i := 0; i < len(out); i++ {
		a := out[i]
		if len(a) < 2 || a[0] != '-' || a == "--" {
			break
		}
		dashes := "-"
		if a[1] == '-' {
			dashes = "--"
		}
		name, value, hasValue := strings.Cut(a[len(dashes):], "=")
		if to, ok := d.renamed(name); ok {
			d.warn("flag --"+name, "--"+to)
			if !copied {
				out, copied = slices.Clone(args), true
			}
			name, out[i] = to, dashes+to
			if hasValue {
				out[i] += "=" + value
			}
		}
		f := d.fset.Lookup(name)
		if f == nil {
			break
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !hasValue && (!ok || !b.IsBoolFlag()) {
			i++ // the next argument is the value
		}
	}
	return out
}

// env looks up the DYNAMO_* variable of the flag named name and, when it
// is not set, those of the flag's old spellings. It returns the variable
// found.
func (d *deprecations) env(name string, lookupEnv func(string) (string, bool)) (env, v string, ok bool) {
	env = envName(name)
	if v, ok = lookupEnv(env); ok {
		return env, v, true
	}
	for _, old := range oldSpellings(name) {
		if _, renamed := d.renamed(old); !renamed {
			continue
		}
		if v, ok = lookupEnv(envName(old)); ok {
			d.warn(envName(old), envName(name))
			return envName(old), v, true
		}
	}
	return envName(name), "", false
}

// fileKey is the flag a config file key sets: the key, or the flag it is
// an old spelling of.
func (d *deprecations) fileKey(key string) string {
	if to, ok := d.renamed(key); ok {
		d.warn("config file key "+key, to)
		return to
	}
	return key
}

// oldSpellings are the deprecated names of the flag named name, sorted.
func oldSpellings(name string) []string {
	var out []string
	for old, to := range deprecatedFlags {
		if to == name {
			out = append(out, old)
		}
	}
	slices.Sort(out)
	return out
}
