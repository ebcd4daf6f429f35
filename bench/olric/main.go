package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/buraksezer/olric"
	"github.com/buraksezer/olric/config"
)

const olricModule = "github.com/buraksezer/olric"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: olric-bench member|load|version [flags]")
		return 2
	}
	switch args[0] {
	case "member":
		return runMember(args[1:], stdout, stderr)
	case "load":
		return runLoad(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, moduleVersion())
		return 0
	}
	fmt.Fprintf(stderr, "olric-bench: unknown mode %q (known: member, load, version)\n", args[0])
	return 2
}

// moduleVersion is the Olric module version this binary was built with
// ("v0.5.7"), or its ReleaseVersion constant when the build has no module
// information.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == olricModule {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "v" + olric.ReleaseVersion
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func splitHostPort(s string) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", s)
	}
	return host, p, nil
}

// runMember runs one in-memory Olric member until SIGTERM, SIGINT or EOF on
// stdin (the bench closes it, or dies). It prints "ready" on stdout once
// Olric calls its Started callback.
func runMember(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("olric-bench member", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:3320", "host:port of Olric's RESP protocol (clients and members)")
	mlAddr := fs.String("memberlist-addr", "127.0.0.1:3322", "host:port of memberlist (gossip, TCP and UDP)")
	peers := fs.String("peers", "", "memberlist addresses of members to join, comma-separated (none: found a cluster)")
	replicas := fs.Int("replicas", 3, "ReplicaCount: copies of each key, the primary's included")
	readQuorum := fs.Int("read-quorum", 2, "ReadQuorum")
	writeQuorum := fs.Int("write-quorum", 2, "WriteQuorum (sync replication)")
	logPath := fs.String("log", "", "log file (default: discard)")
	stdinEOF := fs.Bool("stop-on-stdin-eof", false, "stop when stdin reaches EOF (the parent died)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	host, port, err := splitHostPort(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "olric-bench member: --addr: %v\n", err)
		return 2
	}
	mlHost, mlPort, err := splitHostPort(*mlAddr)
	if err != nil {
		fmt.Fprintf(stderr, "olric-bench member: --memberlist-addr: %v\n", err)
		return 2
	}
	var logOut io.Writer = io.Discard
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "olric-bench member: --log: %v\n", err)
			return 1
		}
		defer f.Close()
		logOut = f
	}

	// memberlist's timings for loopback ("local"), as the Olric docs
	// suggest for a single machine.
	c := config.New("local")
	c.BindAddr, c.BindPort = host, port
	c.MemberlistConfig.BindAddr, c.MemberlistConfig.BindPort = mlHost, mlPort
	c.MemberlistConfig.AdvertiseAddr, c.MemberlistConfig.AdvertisePort = mlHost, mlPort
	c.Peers = splitList(*peers)
	c.ReplicaCount = *replicas
	c.ReadQuorum, c.WriteQuorum = *readQuorum, *writeQuorum
	// Sync replication: a put returns once WriteQuorum owners (the
	// primary and its backups, called in turn) stored it. In async mode
	// WriteQuorum is ignored and backups are written in the background.
	c.ReplicationMode = config.SyncReplicationMode
	// Gets ask the primary and every backup and need ReadQuorum answers;
	// read repair writes the newest version back to stale ones, as
	// dynamo's reads do.
	c.ReadRepair = true
	c.LogOutput = logOut
	c.LogLevel = config.LogLevelWarn
	c.LogVerbosity = 2
	ready := make(chan struct{})
	c.Started = func() { close(ready) }

	db, err := olric.New(c)
	if err != nil {
		fmt.Fprintf(stderr, "olric-bench member: %v\n", err)
		return 1
	}
	failed := make(chan error, 1)
	go func() { failed <- db.Start() }()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	orphaned := make(chan struct{})
	if *stdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			close(orphaned)
		}()
	}
	code := 0
	for done := false; !done; {
		select {
		case <-ready:
			fmt.Fprintln(stdout, "ready")
			ready = nil
		case err := <-failed:
			fmt.Fprintf(stderr, "olric-bench member: %v\n", err)
			code, done = 1, true
		case <-ctx.Done():
			done = true
		case <-orphaned:
			done = true
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = db.Shutdown(sctx)
	return code
}
