package httpapi

import (
	"io/fs"
	"mime"
	"path"
	"regexp"
	"strings"
	"testing"
)

// GET / is the status page from the embedded files: index.html as HTML,
// and every script and stylesheet it names served from the same files
// with its type. Nothing in them points outside the node (no http:// or
// https://), since the page must work without internet access.
func TestStatusPageFiles(t *testing.T) {
	s, _, _ := serve(t, nil)
	index, err := fs.ReadFile(webFiles, "web/index.html")
	if err != nil {
		t.Fatal(err)
	}
	resp, b := do(t, "GET", s.URL+"/", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || string(b) != string(index) {
		t.Fatalf("GET /: %d %q, %d bytes (index.html has %d)", resp.StatusCode, resp.Header.Get("Content-Type"), len(b), len(index))
	}

	refs := regexp.MustCompile(`<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(index), -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %d files, want its script and stylesheet at least", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if strings.Contains(ref, ":") || strings.HasPrefix(ref, "/") {
			t.Errorf("index.html references %q: want a relative path to an embedded file", ref)
			continue
		}
		want, err := fs.ReadFile(webFiles, path.Join("web", ref))
		if err != nil {
			t.Errorf("index.html references %q, which is not embedded: %v", ref, err)
			continue
		}
		resp, b := do(t, "GET", s.URL+"/"+ref, nil)
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if wantCT, _, _ := mime.ParseMediaType(mime.TypeByExtension(path.Ext(ref))); resp.StatusCode != 200 || ct != wantCT || string(b) != string(want) {
			t.Errorf("GET /%s: %d %q (want %q), %d bytes (embedded: %d)", ref, resp.StatusCode, ct, wantCT, len(b), len(want))
		}
	}

	files := 0
	err = fs.WalkDir(webFiles, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := fs.ReadFile(webFiles, p)
		if err != nil {
			return err
		}
		for _, scheme := range []string{"http://", "https://"} {
			if i := strings.Index(strings.ToLower(string(b)), scheme); i >= 0 {
				t.Errorf("%s holds an external URL: %q", p, string(b[i:min(len(b), i+60)]))
			}
		}
		return nil
	})
	if err != nil || files < 3 {
		t.Fatalf("walking the embedded files: %v (%d files)", err, files)
	}
}
