package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A secure cluster made with the documented commands: `dynamo certs`
// makes the CA, node and client certificates and a gossip key; three
// agents run with mutual TLS, gossip encryption and an HTTP token file.
// The CLI with its certificate writes and reads; without one it is
// refused; HTTPS needs the token; an agent with another gossip key does
// not become a member.
func TestE2ESecureCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with real processes: skipped in -short mode")
	}
	dir := t.TempDir()
	pre := &e2e{t: t, bin: binary(t)}
	must := func(args ...string) string {
		t.Helper()
		out, errOut, code := pre.cli(args...)
		if code != 0 {
			t.Fatalf("dynamo %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	must("certs", "ca", "--dir", dir)
	if _, errOut, code := pre.cli("certs", "ca", "--dir", dir); code == 0 || !strings.Contains(errOut, "not overwriting") {
		t.Fatalf("a second CA overwrote the first: %d %s", code, errOut)
	}
	must("certs", "issue", "--dir", dir, "--name", "node", "--hosts", "127.0.0.1,localhost")
	must("certs", "issue", "--dir", dir, "--name", "cli", "--hosts", "127.0.0.1")
	key := strings.TrimSpace(must("certs", "gossip-key"))
	other := strings.TrimSpace(must("certs", "gossip-key"))
	tokens := filepath.Join(dir, "tokens")
	const token = "an-http-token-for-the-e2e-test"
	if err := os.WriteFile(tokens, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	nodeFlags := []string{"--tls-cert", filepath.Join(dir, "node.pem"), "--tls-key", filepath.Join(dir, "node-key.pem"), "--tls-ca", ca,
		"--gossip-key", key, "--http-token-file", tokens}
	cliEnv := []string{"DYNAMO_TLS_CERT=" + filepath.Join(dir, "cli.pem"), "DYNAMO_TLS_KEY=" + filepath.Join(dir, "cli-key.pem"), "DYNAMO_TLS_CA=" + ca}
	e := newE2EEnv(t, 3, nodeFlags, cliEnv)

	if _, errOut, code := e.cli("put", "cart", "banana"); code != 0 {
		t.Fatalf("put with the CLI's certificate: %s", errOut)
	}
	if g := e.getJSON("cart", "--r", "3"); !g.Found || len(g.Values) != 1 {
		t.Fatalf("get: %+v", g)
	}
	// Without the certificate: refused, and nothing is written.
	plain := &e2e{t: t, bin: e.bin, agents: e.agents}
	if _, errOut, code := plain.cli("put", "--timeout", "300ms", "cart", "intruder"); code == 0 {
		t.Fatal("a put without a certificate succeeded")
	} else if errOut == "" {
		t.Fatal("a refused put printed no error")
	}
	if g := e.getJSON("cart", "--r", "3"); len(g.Values) != 1 {
		t.Fatalf("after the refused put: %+v", g)
	}

	// A 10 MiB value through the CLI: refused naming the limit, stored
	// nowhere.
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 10<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := e.cli("put", "--value-file", big, "big"); code != 1 || !strings.Contains(errOut, "value is 10485760 bytes, the limit is 1048576") {
		t.Fatalf("10 MiB put: exit %d: %s", code, errOut)
	}
	for _, a := range e.agents {
		if g := e.getJSON("big", "--seeds", a.actor, "--r", "3"); g.Found {
			t.Fatalf("the refused value is stored (read through %s)", a.name)
		}
	}

	// HTTPS with the cluster CA: 401 without the token, 200 with it.
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := "https://" + e.agents[0].http + "/kv/cart"
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("HTTPS without a token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTPS with the token: %d", resp.StatusCode)
	}

	// An agent with another gossip key (and the right certificate): it
	// runs, retrying its seed, but the cluster never lists it.
	e.agents = append(e.agents, &agent{name: "intruder", dir: filepath.Join(t.TempDir(), "intruder"),
		gossip: fmt.Sprintf("127.0.0.1:%d", freePort(t)), actor: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		http: "", flags: []string{"--gossip-key", other}})
	e.start(3)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		out, _, _ := e.cli("members", "--json", "--seeds", e.agents[0].actor)
		if strings.Contains(out, "intruder") {
			t.Fatalf("the agent with another gossip key became a member: %s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(e.agents[3].out.String(), "seeds not reachable") {
		t.Fatalf("the intruder's log does not say its seed was unreachable:\n%s", e.agents[3].out.String())
	}
}
