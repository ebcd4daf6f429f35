package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A certificate issued by the CA verifies against it, for its hosts, as
// server and as client; another CA's does not; a CA survives a PEM round
// trip; MutualTLS loads the files and demands client certificates.
func TestIssueVerifyAndLoad(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("test CA", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadCA(ca.CertPEM(), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, key, err := again.Issue("n1", []string{"127.0.0.1", "n1.example"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		for _, host := range []string{"127.0.0.1", "n1.example"} {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
				t.Errorf("usage %v host %s: %v", usage, host, err)
			}
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "10.9.9.9"}); err == nil {
		t.Error("verified for a host it was not issued for")
	}
	other, _ := NewCA("other", now, time.Hour)
	otherPool := x509.NewCertPool()
	otherPool.AddCert(other.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: otherPool}); err == nil {
		t.Error("verified against another CA")
	}
	expired, _, err := ca.Issue("old", []string{"127.0.0.1"}, now.Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := tls.X509KeyPair(expired, key); len(p.Certificate) > 0 {
		old, _ := x509.ParseCertificate(p.Certificate[0])
		if _, err := old.Verify(x509.VerifyOptions{Roots: pool}); err == nil {
			t.Error("an expired certificate verified")
		}
	}

	dir := t.TempDir()
	cf, kf, caf := write(t, dir, "n1.pem", certPEM), write(t, dir, "n1-key.pem", key), write(t, dir, "ca.pem", ca.CertPEM())
	tc, err := MutualTLS(cf, kf, caf)
	if err != nil {
		t.Fatal(err)
	}
	if tc.ClientAuth != tls.RequireAndVerifyClientCert || tc.MinVersion != tls.VersionTLS13 || len(tc.Certificates) != 1 {
		t.Fatalf("config %+v", tc)
	}
	for name, args := range map[string][3]string{
		"missing file": {cf, kf, filepath.Join(dir, "nope.pem")},
		"key mismatch": {cf, write(t, dir, "k2.pem", func() []byte { _, k, _ := ca.Issue("x", []string{"h"}, now, time.Hour); return k }()), caf},
		"no CA PEM":    {cf, kf, write(t, dir, "empty.pem", []byte("not pem"))},
		"not set":      {"", kf, caf},
	} {
		if _, err := MutualTLS(args[0], args[1], args[2]); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := ca.Issue("", nil, now, time.Hour); !errors.Is(err, ErrInvalid) {
		t.Errorf("issue without hosts: %v", err)
	}
	if _, err := LoadCA(certPEM, key); !errors.Is(err, ErrInvalid) {
		t.Errorf("a leaf loaded as a CA: %v", err)
	}
}
