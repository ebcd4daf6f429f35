package node

import (
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/certs"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
)

// DYNAMO_TEST_TLS=1 runs every cluster test of this package with mutual TLS
// on remoting and HTTPS, and gossip encryption (make test-tls).
var secureAll = os.Getenv("DYNAMO_TEST_TLS") == "1"

// testPKI is a CA and certificates for 127.0.0.1, made once per test
// binary (key generation is cheap, but every node of a test must share
// one CA) and removed by TestMain.
type testPKI struct {
	dir                    string
	ca, node, nodeKey      string // the cluster CA and a node certificate
	client, clientKey      string // a client certificate of the same CA
	stranger, strangerKey  string // a certificate of another CA
	gossipKey, otherGossip string
}

var (
	pkiOnce sync.Once
	pki     testPKI
	pkiErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pki.dir != "" {
		os.RemoveAll(pki.dir)
	}
	os.Exit(code)
}

func getPKI(t *testing.T) testPKI {
	t.Helper()
	pkiOnce.Do(func() { pki, pkiErr = makePKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki
}

func makePKI() (testPKI, error) {
	dir, err := os.MkdirTemp("", "dynamo-node-pki-")
	if err != nil {
		return testPKI{}, err
	}
	p := testPKI{dir: dir}
	now := time.Now()
	ca, err := certs.NewCA("test cluster CA", now, time.Hour)
	if err != nil {
		return p, err
	}
	other, err := certs.NewCA("another CA", now, time.Hour)
	if err != nil {
		return p, err
	}
	write := func(name string, b []byte) (string, error) {
		path := filepath.Join(dir, name)
		return path, os.WriteFile(path, b, 0o600)
	}
	if p.ca, err = write("ca.pem", ca.CertPEM()); err != nil {
		return p, err
	}
	for _, x := range []struct {
		ca        *certs.CA
		name      string
		cert, key *string
	}{{ca, "node", &p.node, &p.nodeKey}, {ca, "client", &p.client, &p.clientKey}, {other, "stranger", &p.stranger, &p.strangerKey}} {
		c, k, err := x.ca.Issue(x.name, []string{"127.0.0.1", "localhost"}, now, time.Hour)
		if err != nil {
			return p, err
		}
		if *x.cert, err = write(x.name+".pem", c); err != nil {
			return p, err
		}
		if *x.key, err = write(x.name+"-key.pem", k); err != nil {
			return p, err
		}
	}
	p.gossipKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	p.otherGossip = base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
	return p, nil
}

// secure turns TLS and gossip encryption on in cfg.
func secure(t *testing.T, cfg *Config) {
	p := getPKI(t)
	cfg.TLSCert, cfg.TLSKey, cfg.TLSCA = p.node, p.nodeKey, p.ca
	cfg.GossipKeys = []string{p.gossipKey}
}

// clientTLS is the mutual TLS of a test client, nil when off.
func clientTLS(t *testing.T) *tls.Config {
	if !secureAll {
		return nil
	}
	p := getPKI(t)
	tc, err := certs.MutualTLS(p.client, p.clientKey, p.ca)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// A cluster with TLS and gossip encryption: requests through a client with
// a certificate from the cluster CA work; a plaintext client, a client
// with another CA's certificate, and a node with the wrong gossip key are
// refused; the HTTPS API needs a token or a client certificate and answers
// 401 otherwise, having read and written nothing.
func TestSecureCluster(t *testing.T) {
	p := getPKI(t)
	tokenFile := filepath.Join(t.TempDir(), "tokens")
	const token = "s3cret-token-for-tests"
	if err := os.WriteFile(tokenFile, []byte("# clients\n"+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, tweak: func(c *Config) {
		secure(t, c)
		c.HTTPAddr, c.HTTPTokenFile = "127.0.0.1:0", tokenFile
	}}
	good, err := certs.MutualTLS(p.client, p.clientKey, p.ca)
	if err != nil {
		t.Fatal(err)
	}
	h.client = startClientTLS(t, good)
	for i := range 3 {
		h.dirs = append(h.dirs, t.TempDir())
		h.nodes = append(h.nodes, nil)
		h.start(i)
	}
	h.waitMembers(3, 3)
	if r := h.put(h.nodes[0], "k", "v", nil, 3); r.GetError() != nil {
		t.Fatalf("put over TLS: %v", r.GetError())
	}
	if g := h.get(h.nodes[2], "k", 3); !g.GetFound() || string(g.GetValues()[0]) != "v" {
		t.Fatalf("get over TLS: %v", g)
	}

	// Strangers at the actor API: no certificate, or another CA's.
	stranger, err := certs.MutualTLS(p.stranger, p.strangerKey, p.ca)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]*tls.Config{"plaintext": nil, "another CA": stranger} {
		cl := startClientTLS(t, tc)
		env := messages.Wrap(1, &messages.PutRequest{Key: []byte("k"), Value: []byte("intruder")})
		if res, err := cl.Root().RequestFuture(actor.NewPID(h.nodes[0].ActorAddr(), remoting.RouterName), env, time.Second).Result(); err == nil {
			t.Fatalf("a %s client got an answer: %v", name, res)
		}
	}
	if g := h.get(h.nodes[1], "k", 3); len(g.GetValues()) != 1 || string(g.GetValues()[0]) != "v" {
		t.Fatalf("after the strangers' writes k holds %q", g.GetValues())
	}

	// A node with the wrong gossip key never becomes a member.
	cfg := testConfig(t, "intruder", t.TempDir(), h.nodes[0].GossipAddr())
	secure(t, &cfg)
	cfg.GossipKeys = []string{p.otherGossip}
	intruder, err := Start(cfg)
	if err == nil {
		t.Cleanup(intruder.Stop)
		time.Sleep(500 * time.Millisecond)
		for _, mi := range h.call(h.nodes[0], &messages.MembersRequest{}).GetMembersReply().GetMembers() {
			if mi.GetName() == "intruder" {
				t.Fatal("a node with the wrong gossip key joined")
			}
		}
	}

	// HTTPS: 401 without credentials (and nothing written), 204 with the
	// token, 200 with a client certificate.
	pool := good.RootCAs
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := "https://" + h.nodes[0].HTTPAddr() + "/kv/k"
	for _, hdr := range []string{"", "Bearer wrong-token-of-some-length", "Basic " + token} {
		req, _ := http.NewRequest("PUT", url, strings.NewReader("anonymous"))
		if hdr != "" {
			req.Header.Set("Authorization", hdr)
		}
		resp, err := anon.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("PUT with Authorization %q: %d, want 401", hdr, resp.StatusCode)
		}
	}
	for _, path := range []string{"/metrics", "/status", "/"} {
		resp, err := anon.Get("https://" + h.nodes[0].HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("GET %s without credentials: %d", path, resp.StatusCode)
		}
	}
	if g := h.get(h.nodes[1], "k", 3); len(g.GetValues()) != 1 || string(g.GetValues()[0]) != "v" {
		t.Fatalf("after refused HTTP writes k holds %q", g.GetValues())
	}
	req, _ := http.NewRequest("PUT", url, strings.NewReader("by token"))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := anon.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("PUT with the token: %d", resp.StatusCode)
	}
	withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: good.Certificates}}}
	resp, err = withCert.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 300 && resp.StatusCode != 200 {
		t.Fatalf("GET with a client certificate: %d", resp.StatusCode)
	}
	if _, err := http.Get("http://" + h.nodes[0].HTTPAddr() + "/status"); err == nil {
		// Plain HTTP to an HTTPS port: the server answers 400, never data.
		resp, _ := http.Get("http://" + h.nodes[0].HTTPAddr() + "/status")
		if resp != nil && resp.StatusCode == 200 {
			t.Fatal("plain HTTP got the status document")
		}
	}
}

func startClientTLS(t *testing.T, tc *tls.Config) *remoting.System {
	t.Helper()
	cl, err := remoting.StartSystem(remoting.SystemConfig{Addr: "127.0.0.1:0", QueueSize: 1024, TLS: tc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Stop)
	return cl
}

func TestTLSConfigErrorsNameTheFlag(t *testing.T) {
	p := getPKI(t)
	for name, edit := range map[string]func(*Config){
		"--tls-cert":   func(c *Config) { c.TLSCert = p.node },
		"--gossip-key": func(c *Config) { c.GossipKeys = []string{"c2hvcnQ="} },
	} {
		cfg := testConfig(t, "a", t.TempDir())
		cfg.TLSCert, cfg.TLSKey, cfg.TLSCA, cfg.GossipKeys = "", "", "", nil
		edit(&cfg)
		if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	cfg := testConfig(t, "a", t.TempDir())
	cfg.TLSCert, cfg.TLSKey, cfg.TLSCA = p.node, p.clientKey, p.ca // key of another certificate
	if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "--tls-cert") {
		t.Errorf("mismatched key: %v", err)
	}
}
