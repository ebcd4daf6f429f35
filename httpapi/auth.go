package httpapi

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// authenticated reports whether r may be served: always when the server
// has no authentication configured; otherwise when it carries one of the
// bearer tokens, or came over TLS with a client certificate that verified
// against the cluster CA.
func (h *handler) authenticated(r *http.Request) bool {
	if !h.cfg.authOn() {
		return true
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	got := []byte(strings.TrimSpace(token))
	match := 0
	for _, t := range h.cfg.Tokens {
		// Every token is compared, in constant time, so the time taken
		// says nothing about which one (or how much of one) matched.
		match |= subtle.ConstantTimeCompare(got, t)
	}
	return match == 1
}

func (c Config) authOn() bool { return len(c.Tokens) > 0 || c.TLS != nil }

// refuse answers 401: nothing was read or written.
func refuse(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="dynamo"`)
	writeJSON(w, http.StatusUnauthorized, errorJSON{Code: "unauthenticated",
		Error: "authentication required: send Authorization: Bearer <token> or a client certificate signed by the cluster CA"})
}

// LoadTokens reads bearer tokens from a file, one per line; blank lines and
// lines starting with # are skipped. Several tokens let clients move from
// an old token to a new one without downtime.
func LoadTokens(path string) ([][]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("httpapi: token file: %w", err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if len(t) < 16 || strings.ContainsAny(t, " \t") {
			return nil, fmt.Errorf("%w: token file %s line %d: a token is at least 16 characters without spaces", ErrInvalid, path, line)
		}
		out = append(out, []byte(t))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: token file %s holds no token", ErrInvalid, path)
	}
	return out, nil
}
