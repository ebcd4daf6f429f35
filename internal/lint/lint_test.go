package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// pure packages: the correctness core, no I/O, clocks or randomness.
var pure = []string{"ring", "version", "quorum", "merkle", "cluster", "coordinator", "antientropy", "crdt"}

// forbidden in pure packages' non-test files.
var impure = []string{
	"os", "io/ioutil", "time", "math/rand", "math/rand/v2", "crypto/rand", "net/http", "sync", "log", "log/slog",
	"github.com/asynkron/protoactor-go", "github.com/hashicorp/serf", "github.com/syndtr/goleveldb",
	"github.com/dynamokv/dynamo/storage", "github.com/dynamokv/dynamo/actors",
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s: %v", dir, err)
	}
	return dir
}

// packages returns every directory holding non-test Go files, mapped to
// those files parsed.
func packages(t *testing.T) map[string][]*ast.File {
	t.Helper()
	base := root(t)
	out := map[string][]*ast.File{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin") && path != base {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, filepath.Dir(path))
		out[rel] = append(out[rel], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 8 {
		t.Fatalf("found only %d packages under %s", len(out), base)
	}
	return out
}

func TestEveryPackageHasDocGo(t *testing.T) {
	base := root(t)
	for dir := range packages(t) {
		if strings.HasPrefix(dir, "messages") && dir != "messages" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(base, dir, "doc.go"))
		if err != nil {
			t.Errorf("%s has no doc.go stating its contract", dir)
			continue
		}
		if !strings.Contains(string(b), "// Package ") && !strings.Contains(string(b), "// Command ") {
			t.Errorf("%s/doc.go has no package comment", dir)
		}
	}
}

func TestPurePackagesDoNoIO(t *testing.T) {
	pkgs := packages(t)
	for _, p := range pure {
		files, ok := pkgs[p]
		if !ok {
			t.Errorf("pure package %s not found", p)
			continue
		}
		for _, f := range files {
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range impure {
					if path == bad || strings.HasPrefix(path, bad+"/") {
						t.Errorf("pure package %s imports %s", p, path)
					}
				}
			}
		}
	}
}

// Sentinel errors declared with errors.New at package level must read
// "<package>: ...", so a wrapped error says where it comes from; in a
// command (package main) the prefix is the command's name, its directory.
func TestSentinelErrorsArePackagePrefixed(t *testing.T) {
	base := root(t)
	fset := token.NewFileSet()
	for dir := range packages(t) {
		parsed, err := parser.ParseDir(fset, filepath.Join(base, dir), func(fi fs.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for name, pkg := range parsed {
			for _, f := range pkg.Files {
				for _, decl := range f.Decls {
					gd, ok := decl.(*ast.GenDecl)
					if !ok || gd.Tok != token.VAR {
						continue
					}
					for _, spec := range gd.Specs {
						for _, v := range spec.(*ast.ValueSpec).Values {
							call, ok := v.(*ast.CallExpr)
							if !ok || len(call.Args) != 1 {
								continue
							}
							sel, ok := call.Fun.(*ast.SelectorExpr)
							if !ok || sel.Sel.Name != "New" || !isIdent(sel.X, "errors") {
								continue
							}
							lit, ok := call.Args[0].(*ast.BasicLit)
							if !ok {
								continue
							}
							msg, _ := strconv.Unquote(lit.Value)
							prefix := name
							if name == "main" {
								prefix = filepath.Base(dir)
							}
							if !strings.HasPrefix(msg, prefix+": ") {
								t.Errorf("%s: sentinel error %q must start with %q", fset.Position(lit.Pos()), msg, prefix+": ")
							}
						}
					}
				}
			}
		}
	}
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// The node package's cluster tests also run with mutual TLS
// (DYNAMO_TEST_TLS=1), so they reach the HTTP API through httpClient and
// httpBase; only those helpers, and the test that plain HTTP is refused,
// may use net/http's default client (the status page test skips under
// TLS).
func TestNodeTestsUseTheTLSAwareHTTPClient(t *testing.T) {
	base := root(t)
	files, err := filepath.Glob(filepath.Join(base, "node", "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("node tests not found: %v", err)
	}
	allowed := map[string]bool{"http_test.go": true, "tls_test.go": true, "statuspage_test.go": true} // the status page test skips under TLS
	for _, f := range files {
		if allowed[filepath.Base(f)] {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, bad := range []string{"http.DefaultClient", "http.Get(", "http.Post(", "http.Head(", `"http://"`} {
				if strings.Contains(line, bad) {
					t.Errorf("%s:%d uses %s: use httpClient(t) / httpBase, which follow DYNAMO_TEST_TLS", filepath.Base(f), i+1, bad)
				}
			}
		}
	}
}

// The Go client links neither the node's actors nor its storage: an
// application using it must not pull in goleveldb. Checked on the module's
// own import graph (non-test files), transitively.
func TestClientDoesNotImportTheServer(t *testing.T) {
	const mod = "github.com/dynamokv/dynamo/"
	pkgs := packages(t)
	imports := func(dir string) []string {
		var out []string
		for _, f := range pkgs[dir] {
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				out = append(out, p)
			}
		}
		return out
	}
	forbidden := []string{mod + "actors", mod + "vnode", mod + "hints", mod + "storage", mod + "node", mod + "antientropy", mod + "reap", "github.com/syndtr/goleveldb", "github.com/hashicorp/serf"}
	for _, root := range []string{"client", "remoting"} {
		seen := map[string]string{root: ""}
		queue := []string{root}
		for len(queue) > 0 {
			dir := queue[0]
			queue = queue[1:]
			for _, p := range imports(dir) {
				for _, bad := range forbidden {
					if p == bad || strings.HasPrefix(p, bad+"/") {
						t.Errorf("%s imports %s (via %s)", root, p, chain(seen, dir))
					}
				}
				if rel, ok := strings.CutPrefix(p, mod); ok {
					if _, done := seen[rel]; !done {
						seen[rel] = dir
						queue = append(queue, rel)
					}
				}
			}
		}
		if len(seen) < 2 {
			t.Fatalf("%s: import graph not read (%d packages)", root, len(seen))
		}
	}
}

// chain is the import path from the root to dir, as "a -> b -> dir".
func chain(parent map[string]string, dir string) string {
	out := dir
	for p := parent[dir]; p != ""; p = parent[p] {
		out = p + " -> " + out
	}
	return out
}

// Comments and docs/design.md speak of the code, not of the issues that
// asked for it: no issue numbers (the issue tracker is not part of the
// repository, and a reader cannot follow the reference).
func TestNoIssueNumbersInCommentsOrDesign(t *testing.T) {
	base := root(t)
	issueRef := regexp.MustCompile(`\b[Ii]ssues? #?[0-9]+`)
	check := func(path, text string) {
		for i, line := range strings.Split(text, "\n") {
			if m := issueRef.FindString(line); m != "" {
				rel, _ := filepath.Rel(base, path)
				t.Errorf("%s:%d cites %q", rel, i+1, m)
			}
		}
	}
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bin") && path != base {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, g := range f.Comments {
			check(path, g.Text())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	design := filepath.Join(base, "docs", "design.md")
	b, err := os.ReadFile(design)
	if err != nil {
		t.Fatal(err)
	}
	check(design, string(b))
}

// In the packages whose tests run under -race although their package also
// has tests over real remoting (client, remoting, actors), every test file
// that starts a protoactor system with remoting (StartSystem, not a
// MemoryNetwork's; a node; the real client cluster) is built only without
// the race detector: protoactor's remote.Start writes a gRPC global that
// running transports read.
func TestRealRemotingTestsAreLeftOutOfTheRacePass(t *testing.T) {
	base := root(t)
	starts := regexp.MustCompile(`(^|[^.\w])StartSystem\(|remoting\.StartSystem\(|startRemoteCluster\(|node\.New\(|node\.Start\(`)
	checked := 0
	for _, dir := range []string{"client", "remoting", "actors"} {
		files, err := filepath.Glob(filepath.Join(base, dir, "*_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			rel, _ := filepath.Rel(base, f)
			checked++
			norace := strings.HasPrefix(text, "//go:build !race\n")
			// The Makefile's second pass finds these files by that exact
			// line: another constraint naming race would leave a file's
			// tests out of both passes.
			if first, _, _ := strings.Cut(text, "\n"); strings.HasPrefix(first, "//go:build") && strings.Contains(first, "race") && !norace {
				t.Errorf("%s: build line %q: a file kept out of the race pass must say exactly //go:build !race", rel, first)
			}
			if m := starts.FindString(text); m != "" && !norace {
				t.Errorf("%s calls %s but is built under -race: start it with //go:build !race", rel, strings.TrimLeft(m, " \t\n("))
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d test files checked", checked)
	}
}

// Anti-entropy has one name (docs/design.md, "Names"): "anti-entropy" in
// prose, AntiEntropy and antiEntropy in Go, anti-entropy-* flags,
// dynamo_anti_entropy_* metrics and anti_entropy_* message fields. The
// abbreviation, as a word or a part of an identifier in any case, is
// refused in Go, proto, Markdown, HTML, TOML, YAML and shell files, the
// Makefile, the CI script and the deploy files. It stays in two places only, where the old spellings
// must still be read: the entries of cmd/dynamo's deprecatedFlags (the
// old flag names, still accepted with a warning) and the paragraph of
// docs/operations.md that gives the old metric names. (The pattern is
// written a{2}e so that this file does not match itself.)
func TestAntiEntropyHasOneName(t *testing.T) {
	base := root(t)
	abbrev := regexp.MustCompile(`(?i)\ba{2}e|a{2}e[A-Z_]|_a{2}e`)
	// allowed are the only blocks of lines where the abbreviation may
	// stand, once a line: from the line starting with start to the line
	// before the first blank line or "}", each line of it matching line
	// and the block, its lines joined by spaces, matching block (when
	// not nil).
	allowed := []struct {
		file, start string
		line, block *regexp.Regexp
	}{
		{"cmd/dynamo/deprecated.go", "var deprecatedFlags = map[string]string{",
			regexp.MustCompile(`^(var deprecatedFlags = map\[string\]string\{|\t"[a-z]+(-[a-z]+)*": +"[a-z]+(-[a-z]+)*",)$`), nil},
		{"docs/operations.md", "The anti-entropy metrics were named `dynamo_",
			nil, regexp.MustCompile(`^[^.]*(\.[^ .][^.]*)*\.$`)}, // one sentence
	}
	scanned := func(rel string, d fs.DirEntry) bool {
		switch filepath.Ext(rel) {
		case ".go", ".proto", ".md", ".html", ".toml", ".yml", ".yaml", ".sh":
			return true
		}
		top := strings.Split(filepath.ToSlash(rel), "/")[0]
		return d.Name() == "Makefile" || top == "deploy" || top == ".ci"
	}
	files := 0
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, path)
		if d.IsDir() && path != base && (strings.HasPrefix(d.Name(), ".") && d.Name() != ".ci" || d.Name() == "bin" || rel == "data") {
			return filepath.SkipDir
		}
		if d.IsDir() || !scanned(rel, d) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		lines := strings.Split(string(b), "\n")
		ok := make([]bool, len(lines))
		for _, a := range allowed {
			if filepath.ToSlash(rel) != a.file {
				continue
			}
			found := false
			for i := 0; i < len(lines); i++ {
				if !strings.HasPrefix(lines[i], a.start) {
					continue
				}
				found = true
				first := i
				for ; i < len(lines) && lines[i] != "" && lines[i] != "}"; i++ {
					if a.line != nil && !a.line.MatchString(lines[i]) || len(abbrev.FindAllString(lines[i], -1)) > 1 {
						t.Errorf("%s:%d: %q is not allowed in the block that may name the old spellings", rel, i+1, lines[i])
						continue
					}
					ok[i] = true
				}
				if block := strings.Join(lines[first:i], " "); a.block != nil && !a.block.MatchString(block) {
					t.Errorf("%s:%d: the block that may name the old spellings is more than it should be: %q", rel, first+1, block)
					clear(ok[first:i])
				}
			}
			if !found {
				t.Errorf("%s: no line starts with %q: update TestAntiEntropyHasOneName's allowed blocks", rel, a.start)
			}
		}
		for i, line := range lines {
			if m := abbrev.FindString(line); m != "" && !ok[i] {
				t.Errorf("%s:%d says %q: anti-entropy is \"anti-entropy\", AntiEntropy or antiEntropy (docs/design.md, \"Names\")", rel, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d files checked under %s", files, base)
	}
}

// Every actor spawned by name goes through remoting.SpawnNamed, whose
// mailbox holds a message that finds the name while protoactor is still
// spawning it (an ungated mailbox crashes its poster there). Tests too:
// they send by name to actors other goroutines start. Props' WithOnInit is
// refused: it runs between the registry and the handlers, where a failure
// or a post to the name itself would hold every poster for good.
func TestNamedActorsSpawnThroughTheGate(t *testing.T) {
	base := root(t)
	call := regexp.MustCompile(`(\w*)\.SpawnNamed\(`)
	checked := 0
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, path)
		if d.IsDir() && path != base && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || filepath.ToSlash(rel) == "bench/olric") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || filepath.ToSlash(rel) == "remoting/spawn.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "WithOnInit(") && !strings.HasSuffix(path, "lint_test.go") {
				t.Errorf("%s:%d uses WithOnInit, which runs inside the spawn's gated window", rel, i+1)
			}
			for _, m := range call.FindAllStringSubmatch(line, -1) {
				if m[1] != "remoting" {
					t.Errorf("%s:%d spawns a named actor without remoting.SpawnNamed: %s", rel, i+1, strings.TrimSpace(line))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d Go files checked", checked)
	}
}
