package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dynamokv/dynamo/certs"
)

const certsUsage = `usage:
  dynamo certs ca [--dir DIR] [--name NAME] [--days D]
      Makes a cluster CA: DIR/ca.pem (give it to every node and client)
      and DIR/ca-key.pem (keep it off the nodes). Refuses to overwrite.
  dynamo certs issue [--dir DIR] --name NAME --hosts H1,H2 [--days D]
      Signs a certificate for a node or client with the CA in DIR:
      DIR/NAME.pem and DIR/NAME-key.pem, valid for the hosts (IP addresses
      or DNS names) it listens on, as server and client.
  dynamo certs gossip-key
      Prints a new gossip encryption key (--gossip-key).
`

func runCerts(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, certsUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("dynamo certs "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "certs", "directory of the CA and the certificates")
	name := fs.String("name", "", "certificate name (issue: the node or client name)")
	hosts := fs.String("hosts", "", "comma-separated IP addresses or DNS names the holder listens on (issue)")
	days := fs.Int("days", 0, "validity in days (default: 3650 for a CA, 825 for a certificate)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "dynamo certs %s: %s\n", args[0], fmt.Sprintf(format, a...))
		return exitFailed
	}
	validity := func(def int) time.Duration {
		if *days > 0 {
			return time.Duration(*days) * 24 * time.Hour
		}
		return time.Duration(def) * 24 * time.Hour
	}
	caCert, caKey := filepath.Join(*dir, "ca.pem"), filepath.Join(*dir, "ca-key.pem")
	switch args[0] {
	case "gossip-key":
		var k [32]byte
		if _, err := rand.Read(k[:]); err != nil {
			return fail("%v", err)
		}
		fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(k[:]))
		return exitOK
	case "ca":
		if *name == "" {
			*name = "dynamo cluster CA"
		}
		ca, err := certs.NewCA(*name, time.Now(), validity(3650))
		if err != nil {
			return fail("%v", err)
		}
		key, err := ca.KeyPEM()
		if err != nil {
			return fail("%v", err)
		}
		if err := writeNew(*dir, map[string][]byte{caCert: ca.CertPEM(), caKey: key}); err != nil {
			return fail("%v", err)
		}
		fmt.Fprintf(stdout, "wrote %s (give it to every node and client) and %s (keep it safe, off the nodes)\n", caCert, caKey)
		return exitOK
	case "issue":
		if *name == "" || *hosts == "" {
			fmt.Fprintf(stderr, "dynamo certs issue: --name and --hosts are required\n%s", certsUsage)
			return exitUsage
		}
		cp, err1 := os.ReadFile(caCert)
		kp, err2 := os.ReadFile(caKey)
		if err := errors.Join(err1, err2); err != nil {
			return fail("reading the CA (make one with `dynamo certs ca --dir %s`): %v", *dir, err)
		}
		ca, err := certs.LoadCA(cp, kp)
		if err != nil {
			return fail("%v", err)
		}
		cert, key, err := ca.Issue(*name, splitList(*hosts), time.Now(), validity(825))
		if err != nil {
			return fail("%v", err)
		}
		cf, kf := filepath.Join(*dir, *name+".pem"), filepath.Join(*dir, *name+"-key.pem")
		if err := writeNew(*dir, map[string][]byte{cf: cert, kf: key}); err != nil {
			return fail("%v", err)
		}
		fmt.Fprintf(stdout, "wrote %s and %s for %s\nuse: --tls-cert %s --tls-key %s --tls-ca %s\n", cf, kf, *hosts, cf, kf, caCert)
		return exitOK
	}
	fmt.Fprintf(stderr, "dynamo certs: unknown subcommand %q (ca, issue, gossip-key)\n", args[0])
	return exitUsage
}

// writeNew writes files that must not exist yet (keys 0600).
func writeNew(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for path := range files {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists; not overwriting it", path)
		}
	}
	for path, b := range files {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
