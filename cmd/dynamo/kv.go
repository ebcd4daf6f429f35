package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dynamokv/dynamo/certs"
	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/ring"
	"github.com/dynamokv/dynamo/status"
)

// kvClient is what the cluster commands need; *client.Client satisfies it,
// and the tests use a fake.
type kvClient interface {
	Get(ctx context.Context, key []byte, opts ...client.Option) (*client.Object, error)
	Put(ctx context.Context, key, value []byte, vctx client.Context, opts ...client.Option) (client.Context, error)
	Delete(ctx context.Context, key []byte, vctx client.Context, opts ...client.Option) error
	Members(ctx context.Context) (*client.Membership, error)
	Status(ctx context.Context, node string) (*client.Membership, error)
	InjectFault(ctx context.Context, node string, component client.FaultComponent, partition int) error
	StopNode(ctx context.Context, node string, down time.Duration) error
	Leave(ctx context.Context, node string) (int, error)
	Remove(ctx context.Context, node string) error
	Background(ctx context.Context, node string, action client.BackgroundAction) (bool, error)
	// List is client.Keys.
	List(ctx context.Context, o client.ListOptions) keyLister
	Export(ctx context.Context, w io.Writer, progress func(client.BackupProgress)) (uint64, error)
	Import(ctx context.Context, r io.ReadSeeker, progress func(client.BackupProgress)) (uint64, error)
	Close() error
}

// keyLister walks a listing: what dynamo keys needs of a
// *client.KeyIterator.
type keyLister interface {
	Next() bool
	Key() []byte
	Err() error
	Cursor() string
}

// clusterClient is the real kvClient.
type clusterClient struct{ *client.Client }

func (c clusterClient) List(ctx context.Context, o client.ListOptions) keyLister {
	return c.Keys(ctx, o)
}

// dialer connects to a cluster.
type dialer func(ctx context.Context, cfg client.Config) (kvClient, error)

// dialCluster is the real dialer.
func dialCluster(ctx context.Context, cfg client.Config) (kvClient, error) {
	c, err := client.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return clusterClient{c}, nil
}

// Defaults of the cluster flags.
const (
	defaultSeeds   = "127.0.0.1:8946"
	defaultTimeout = time.Second
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the request failed, or get found nothing (without --json)
	exitUsage  = 2
)

// Environment variables giving flag defaults.
const (
	envSeeds  = "DYNAMO_SEEDS"
	envListen = "DYNAMO_LISTEN"
)

const base64Usage = "standard base64, as printed by get and put"

const kvUsage = `Cluster commands (exit 0 on success, 1 when the request fails or get finds
nothing, 2 on a usage error; errors are one line on stderr):

  dynamo get [flags] KEY
      Prints every sibling value on its own line, then "context: <base64>".
      A missing or deleted key prints dynamo get: "KEY": not found on stderr
      and exits 1 (its context, if any, still goes to stdout). With --json,
      prints one line {"key":..,"found":..,"values":[<base64>..],"context":..}
      and exits 0 whether found or not.
  dynamo put [flags] KEY VALUE
  dynamo put [flags] --value-file FILE KEY      (FILE "-" is stdin)
      Writes VALUE and prints the new context (base64) on one line: it
      covers the version written and what --context covered, never a
      sibling this write did not read. Without --context the write is
      blind: it becomes a sibling of what KEY holds. With --if-absent it
      writes only if KEY holds no value (never written, or deleted);
      otherwise it prints dynamo put: exists: ... and exits 1.
  dynamo keys [--prefix P] [--limit N] [--cursor C] [--page-size S]
      Prints the keys that hold a value, one per line, partition by
      partition (no useful order; each partition read from one up
      replica). It reads every object of the cluster once, whatever the
      prefix. With --limit it stops after N keys and prints
      "cursor: <C>" to resume with --cursor C.
  dynamo export --out FILE
      Writes every key's whole version set (siblings, clocks, tombstones)
      from the running cluster to FILE (written as FILE.partial and
      renamed when complete), in a versioned, checksummed format
      (package backup), with progress on stderr. Writes made meanwhile
      may or may not be in it.
  dynamo import FILE
      Checks FILE whole (any damage: an error naming the byte offset, and
      nothing written), then merges it into the cluster with the same
      causal merge as replication: newer writes stay, no sibling is lost.
  dynamo delete [flags] KEY
      Deletes KEY. Without --context it reads KEY first and deletes what the
      read saw (a delete without a context would hide nothing).
  dynamo members [flags]
      Lists the members as a node sees them, with the partitions each holds,
      and that node's counters (vnodes, restarts, hints). --node NAME asks
      that member.
  dynamo status [flags]
      One node's state: its counters (vnodes, restarts, hints) and
      anti-entropy progress, with each partition it holds: when it was last
      compared with another replica, with which, and the keys repaired.
      --node NAME asks that member; --json prints one JSON object line.
  dynamo leave [--node NAME] [--wait=false] [--wait-timeout D]
      Makes a node leave the cluster gracefully: it hands every partition
      to its new owners, then leaves and its agent exits. Without --node,
      the node at the first seed leaves. Waits (up to --wait-timeout, 10m)
      until it is gone, printing progress, unless --wait=false.
  dynamo remove NAME
      Takes a failed node out of the ring for good (a dead machine): its
      partitions get new owners, which the surviving replicas fill by
      anti-entropy. A node that is up is refused: make it leave instead.
  dynamo background pause|resume|status [--node NAME]
      Pauses or resumes a node's background work (hint delivery, handoffs,
      anti-entropy, reap passes), or shows whether it is paused. Paused,
      what is in progress stops at its next batch; client requests,
      replication and read repair go on. A pause lasts until resumed, a
      leave of the node, or its restart. Without --node, the node at the
      first seed.
  dynamo debug crash --node NAME --component C [--partition P]
      Makes an actor of NAME panic so its supervisor restarts it: C is vnode
      (with --partition), vnodes, router, membership, hints or syncer. The
      node must run with --allow-fault-injection.
  dynamo debug stop --node NAME [--for D]
      Stops NAME as a crash would and starts it again on its data after D
      (default 10s). Only nodes of dynamo dev can do this (an agent's
      process is stopped with kill instead).
  dynamo debug disk --node NAME --fail-writes D [--delay-min D] [--delay-max D]
      Makes NAME's storage engine fail every write with EIO for D (0 ends
      the fault at once), each failing write returning its error after a
      delay drawn from [--delay-min, --delay-max] (default 20ms to 50ms), so
      that the other replicas ack a write before the coordinator's own
      commit fails. The node must run with --allow-fault-injection.
  dynamo debug corrupt --node NAME --key K
  dynamo debug corrupt --node NAME --partition P [--keys N]
      Overwrites NAME's stored copy of K (or of N random keys of its
      replica of partition P, default 1) with garbage under the running
      node, whose cache forgets them. The node must run with
      --allow-fault-injection and hold the partition.
  dynamo ring [flags]
      Without --members, shows the placement of the running cluster.

Flags of every cluster command (before the arguments):
  --seeds host:port,...  nodes to ask first, spelled as the nodes advertise
                         themselves (default $DYNAMO_SEEDS, else 127.0.0.1:8946)
  --timeout D            request deadline sent to the nodes (default 1s); the
                         command gives up after 3×D+2s in all
  --listen host:port     this command's own address, which the nodes reply to
                         (default $DYNAMO_LISTEN, else the local address that
                         routes to the first seed, port 0)
  --tls-cert F --tls-key F --tls-ca F
                         mutual TLS with a cluster that runs it: this
                         command's certificate (for the --listen host), its
                         key and the cluster CA (default $DYNAMO_TLS_CERT,
                         $DYNAMO_TLS_KEY, $DYNAMO_TLS_CA)
`

// clusterFlags are the flags every cluster command takes.
type clusterFlags struct {
	seeds   *string
	timeout *time.Duration
	listen  *string
	// TLS files; all three or none.
	tlsCert, tlsKey, tlsCA *string
}

func addClusterFlags(fs *flag.FlagSet) clusterFlags {
	seeds := os.Getenv(envSeeds)
	if seeds == "" {
		seeds = defaultSeeds
	}
	return clusterFlags{
		seeds:   fs.String("seeds", seeds, "comma-separated node addresses host:port, as the nodes advertise them ($"+envSeeds+")"),
		timeout: fs.Duration("timeout", defaultTimeout, "request deadline sent to the nodes"),
		listen:  fs.String("listen", os.Getenv(envListen), "this command's own remoting address host:port, which the nodes reply to ($"+envListen+"; default: the local address routing to the first seed)"),
		tlsCert: fs.String("tls-cert", os.Getenv("DYNAMO_TLS_CERT"), "PEM certificate of this command, signed by the cluster CA ($DYNAMO_TLS_CERT)"),
		tlsKey:  fs.String("tls-key", os.Getenv("DYNAMO_TLS_KEY"), "PEM key of --tls-cert ($DYNAMO_TLS_KEY)"),
		tlsCA:   fs.String("tls-ca", os.Getenv("DYNAMO_TLS_CA"), "PEM certificate of the cluster CA ($DYNAMO_TLS_CA)"),
	}
}

// config turns the flags into a client configuration.
func (f clusterFlags) config() (client.Config, error) {
	cfg := client.DefaultConfig()
	for _, s := range splitList(*f.seeds) {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return cfg, fmt.Errorf("--seeds: %q is not host:port", s)
		}
		cfg.Seeds = append(cfg.Seeds, s)
	}
	if len(cfg.Seeds) == 0 {
		return cfg, fmt.Errorf("--seeds: no address given")
	}
	if *f.timeout <= 0 {
		return cfg, fmt.Errorf("--timeout must be positive, got %v", *f.timeout)
	}
	cfg.Timeout = *f.timeout
	cfg.RefreshInterval = -1 // one-shot commands
	cfg.ListenAddr = *f.listen
	if cfg.ListenAddr == "" {
		cfg.ListenAddr = listenFor(cfg.Seeds[0])
	}
	if *f.tlsCert != "" || *f.tlsKey != "" || *f.tlsCA != "" {
		tc, err := certs.MutualTLS(*f.tlsCert, *f.tlsKey, *f.tlsCA)
		if err != nil {
			return cfg, fmt.Errorf("--tls-cert/--tls-key/--tls-ca: %w", err)
		}
		cfg.TLS = tc
	}
	return cfg, nil
}

// listenFor picks the command's listen address: loopback for a loopback
// seed, else the local address the host routes to the seed from (nodes
// reply on a connection to it). A UDP "connect" sends nothing.
func listenFor(seed string) string {
	const loopback = "127.0.0.1:0"
	host, _, err := net.SplitHostPort(seed)
	if err != nil || host == "localhost" {
		return loopback
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return loopback
	}
	conn, err := net.Dial("udp", seed)
	if err != nil {
		return loopback
	}
	defer conn.Close()
	addr, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		return loopback
	}
	return net.JoinHostPort(addr.IP.String(), "0")
}

// kvCommand is one parsed cluster command.
type kvCommand struct {
	name           string
	stdout, stderr io.Writer
}

// fail prints the one error line of the command and returns code.
func (k kvCommand) fail(code int, format string, args ...any) int {
	msg := fmt.Sprintf(format, args...)
	msg = strings.Join(strings.Fields(msg), " ") // one line
	fmt.Fprintf(k.stderr, "dynamo %s: %s\n", k.name, msg)
	return code
}

// parse parses args; on -h it prints the usage to stdout. With want >= 0,
// exactly want arguments must remain, else the command fails with
// wrongArgs (a format whose %s is what was given). ok is false when the
// command must exit with code.
func (k kvCommand) parse(fs *flag.FlagSet, args []string, synopsis string, want int, wrongArgs string) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(k.stdout)
		fmt.Fprintf(k.stdout, "usage: dynamo %s %s\n\n", k.name, synopsis)
		fs.PrintDefaults()
		return exitOK, false
	}
	if err != nil {
		return k.fail(exitUsage, "%v (usage: dynamo %s %s)", err, k.name, synopsis), false
	}
	if want >= 0 && fs.NArg() != want {
		return k.fail(exitUsage, wrongArgs, nargs(fs)), false
	}
	return 0, true
}

// connect dials the cluster under a context bounding the whole command
// (extra is added for a command that waits).
func (k kvCommand) connect(f clusterFlags, dial dialer, extra ...time.Duration) (kvClient, context.Context, func(), int) {
	cfg, err := f.config()
	if err != nil {
		return nil, nil, nil, k.fail(exitUsage, "%v", err)
	}
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt)
	bound := 3*cfg.Timeout + 2*time.Second
	for _, d := range extra {
		bound += d
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	c, err := dial(ctx, cfg)
	if err != nil {
		cancel()
		stopSignals()
		return nil, nil, nil, k.fail(exitFailed, "%v", err)
	}
	return c, ctx, func() { _ = c.Close(); cancel(); stopSignals() }, 0
}

// connectWithContext decodes --context (contextFlag), then dials the cluster as
// connect does; code is the exit code when c is nil.
func (k kvCommand) connectWithContext(f clusterFlags, dial dialer, contextFlag string) (vctx client.Context, c kvClient, ctx context.Context, done func(), code int) {
	vctx, err := client.ParseContext(contextFlag)
	if err != nil {
		return vctx, nil, nil, nil, k.fail(exitUsage, "--context is not %s: %v", base64Usage, err)
	}
	c, ctx, done, code = k.connect(f, dial)
	return vctx, c, ctx, done, code
}

func quorumFlag(fs *flag.FlagSet, name, what string) *int {
	return fs.Int(name, 0, what+" (0: the cluster's default)")
}

// kvRun runs one cluster command with its flag set, which holds the
// cluster flags already; it adds its own flags and parses args.
type kvRun func(k kvCommand, fs *flag.FlagSet, cf clusterFlags, args []string, dial dialer) int

// kvCommands are the cluster commands, by name.
var kvCommands = map[string]kvRun{
	"get":        kvCommand.runGet,
	"put":        kvCommand.runPut,
	"delete":     kvCommand.runDelete,
	"keys":       kvCommand.runKeys,
	"export":     kvCommand.runExport,
	"import":     kvCommand.runImport,
	"members":    kvCommand.runMembers,
	"status":     kvCommand.runMembers,
	"leave":      kvCommand.leave,
	"remove":     kvCommand.runRemove,
	"background": kvCommand.runBackground,
	"debug":      kvCommand.runDebug,
}

// runKV runs the cluster command name.
func runKV(name string, args []string, stdout, stderr io.Writer, dial dialer) int {
	k := kvCommand{name: name, stdout: stdout, stderr: stderr}
	run, ok := kvCommands[name]
	if !ok {
		return k.fail(exitUsage, "unknown command")
	}
	fs := flag.NewFlagSet("dynamo "+name, flag.ContinueOnError)
	return run(k, fs, addClusterFlags(fs), args, dial)
}

// runGet is `dynamo get`.
func (k kvCommand) runGet(fs *flag.FlagSet, cf clusterFlags, args []string, dial dialer) int {
	r := quorumFlag(fs, "r", "read quorum")
	asJSON := fs.Bool("json", false, "print one JSON object line, exit 0 even when not found")
	lww := fs.Bool("lww", false, "last-write-wins read: one value")
	if code, ok := k.parse(fs, args, "[flags] KEY", 1, "want KEY, got %s"); !ok {
		return code
	}
	c, ctx, done, code := k.connect(cf, dial)
	if c == nil {
		return code
	}
	defer done()
	opts := []client.Option{client.R(*r), client.Timeout(*cf.timeout)}
	if *lww {
		opts = append(opts, client.LWW())
	}
	return k.get(ctx, c, fs.Arg(0), *asJSON, opts)
}

// runPut is `dynamo put`.
func (k kvCommand) runPut(fs *flag.FlagSet, cf clusterFlags, args []string, dial dialer) int {
	w := quorumFlag(fs, "w", "write quorum")
	contextFlag := fs.String("context", "", "context of an earlier read ("+base64Usage+"); none: blind write")
	lww := fs.Bool("lww", false, "last-write-wins: replace whatever the key holds (concurrent writes are lost)")
	ifAbsent := fs.Bool("if-absent", false, "write only if the key holds no value (checked and written in one step where the write is coordinated; see docs/client.md)")
	valueFile := fs.String("value-file", "", "read the value from this file (- for stdin) instead of the VALUE argument (binary values, large values)")
	ttl := fs.Duration("ttl", 0, "the value's time to live (e.g. 30s, 24h): it then reads as absent; 0 never expires; unset takes the node's --default-ttl")
	if code, ok := k.parse(fs, args, "[flags] KEY VALUE", -1, ""); !ok {
		return code
	}
	var value []byte
	switch {
	case *valueFile != "" && fs.NArg() == 1:
		var err error
		if value, err = readValueFile(*valueFile); err != nil {
			return k.fail(exitUsage, "--value-file: %v", err)
		}
	case *valueFile != "":
		return k.fail(exitUsage, "with --value-file want KEY only, got %s", nargs(fs))
	case fs.NArg() != 2:
		return k.fail(exitUsage, "want KEY VALUE, got %s", nargs(fs))
	default:
		value = []byte(fs.Arg(1))
	}
	vctx, c, ctx, done, code := k.connectWithContext(cf, dial, *contextFlag)
	if c == nil {
		return code
	}
	defer done()
	opts := []client.Option{client.W(*w), client.Timeout(*cf.timeout)}
	if *lww {
		opts = append(opts, client.LWW())
	}
	if *ifAbsent {
		opts = append(opts, client.IfAbsent())
	}
	if isSet(fs, "ttl") {
		opts = append(opts, client.TTL(*ttl))
	}
	newCtx, err := c.Put(ctx, []byte(fs.Arg(0)), value, vctx, opts...)
	if err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	fmt.Fprintln(k.stdout, newCtx.String())
	return exitOK
}

// runKeys is `dynamo keys`.
func (k kvCommand) runKeys(fs *flag.FlagSet, cf clusterFlags, args []string, dial dialer) int {
	prefix := fs.String("prefix", "", "list only the keys that start with this")
	limit := fs.Int("limit", 0, "stop after this many keys and print a cursor to resume (0: list every key)")
	cursor := fs.String("cursor", "", "resume a listing where an earlier one printed \"cursor: ...\"")
	page := fs.Int("page-size", 1000, "keys per request to a node, 1 to 10000")
	if code, ok := k.parse(fs, args, "[flags]", 0, "takes no arguments, got %s"); !ok {
		return code
	}
	if *limit < 0 {
		return k.fail(exitUsage, "--limit must not be negative, got %d", *limit)
	}
	c, ctx, done, code := k.connect(cf, dial, 24*time.Hour) // a listing takes as long as the data; Ctrl-C stops it
	if c == nil {
		return code
	}
	defer done()
	it := c.List(ctx, client.ListOptions{Prefix: []byte(*prefix), Cursor: *cursor, PageSize: *page})
	n := 0
	for it.Next() {
		fmt.Fprintf(k.stdout, "%s\n", it.Key())
		if n++; n == *limit {
			if c := it.Cursor(); c != "" {
				fmt.Fprintf(k.stdout, "cursor: %s\n", c)
			}
			return exitOK
		}
	}
	if err := it.Err(); err != nil {
		return k.fail(exitFailed, "%v (resume with --cursor %s)", err, it.Cursor())
	}
	return exitOK
}

// progressEvery is how often export and import print their progress.
const progressEvery = time.Second

// progressPrinter prints a BackupProgress line on stderr at most once per
// progressEvery.
func (k kvCommand) progressPrinter(what string) func(client.BackupProgress) {
	var last time.Time
	return func(p client.BackupProgress) {
		if time.Since(last) < progressEvery {
			return
		}
		last = time.Now()
		if p.Partitions > 0 && what == "exported" {
			fmt.Fprintf(k.stderr, "%s %d keys, %d bytes (partition %d of %d)\n", what, p.Keys, p.Bytes, p.Partition+1, p.Partitions)
			return
		}
		fmt.Fprintf(k.stderr, "%s %d keys, %d bytes of the file read\n", what, p.Keys, p.Bytes)
	}
}

// runExport is `dynamo export --out FILE`.
func (k kvCommand) runExport(fs *flag.FlagSet, cf clusterFlags, args []string, dial dialer) int {
	out := fs.String("out", "", "the file to write (required); written as FILE.partial, renamed when complete")
	if code, ok := k.parse(fs, args, "--out FILE [flags]", 0, "takes no arguments, got %s"); !ok {
		return code
	}
	if *out == "" {
		return k.fail(exitUsage, "--out FILE is required")
	}
	c, ctx, done, code := k.connect(cf, dial, 24*time.Hour) // as long as the data; Ctrl-C stops it
	if c == nil {
		return code
	}
	defer done()
	partial := *out + ".partial"
	f, err := os.Create(partial)
	if err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	n, err := c.Export(ctx, f, k.progressPrinter("exported"))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(partial, *out)
	}
	if err != nil {
		_ = os.Remove(partial)
		return k.fail(exitFailed, "%v", err)
	}
	fmt.Fprintf(k.stdout, "exported %d keys to %s\n", n, *out)
	return exitOK
}

// runImport is `dynamo import FILE`.
func (k kvCommand) runImport(fs *flag.FlagSet, cf clusterFlags, args []string, dial dialer) int {
	if code, ok := k.parse(fs, args, "[flags] FILE", 1, "want FILE, got %s"); !ok {
		return code
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	defer f.Close()
	c, ctx, done, code := k.connect(cf, dial, 24*time.Hour)
	if c == nil {
		return code
	}
	defer done()
	n, err := c.Import(ctx, f, k.progressPrinter("imported"))
	if err != nil {
		return k.fail(exitFailed, "%v (%d keys imported before)", err, n)
	}
	fmt.Fprintf(k.stdout, "imported %d keys from %s\n", n, fs.Arg(0))
	return exitOK
}

// runDelete is `dynamo delete`: without --context it reads the key first.
func (k kvCommand) runDelete(fs *flag.FlagSet, cf clusterFlags, args []string, dial dialer) int {
	w := quorumFlag(fs, "w", "write quorum")
	contextFlag := fs.String("context", "", "context of an earlier read ("+base64Usage+"); none: read the key first")
	if code, ok := k.parse(fs, args, "[flags] KEY", 1, "want KEY, got %s"); !ok {
		return code
	}
	vctx, c, ctx, done, code := k.connectWithContext(cf, dial, *contextFlag)
	if c == nil {
		return code
	}
	defer done()
	key := []byte(fs.Arg(0))
	if vctx.IsZero() {
		obj, err := c.Get(ctx, key, client.Timeout(*cf.timeout))
		if err != nil {
			return k.fail(exitFailed, "reading before deleting: %v", err)
		}
		vctx = obj.Context
	}
	if err := c.Delete(ctx, key, vctx, client.W(*w), client.Timeout(*cf.timeout)); err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	return exitOK
}

// runMembers is `dynamo members` and `dynamo status`.
func (k kvCommand) runMembers(fs *flag.FlagSet, cf clusterFlags, args []string, dial dialer) int {
	asJSON := fs.Bool("json", false, "print one JSON object line")
	nodeName := fs.String("node", "", "ask this member (by name) for its view and counters, instead of any node")
	if code, ok := k.parse(fs, args, "[flags]", 0, "takes no arguments, got %s"); !ok {
		return code
	}
	c, ctx, done, code := k.connect(cf, dial)
	if c == nil {
		return code
	}
	defer done()
	m, r, code := k.membership(ctx, c, *nodeName)
	if m == nil {
		return code
	}
	if k.name == "status" {
		return k.status(m, r, *asJSON)
	}
	return k.members(m, r, *asJSON)
}

// runRemove is `dynamo remove NAME`.
func (k kvCommand) runRemove(fs *flag.FlagSet, cf clusterFlags, args []string, dial dialer) int {
	if code, ok := k.parse(fs, args, "NAME", 1, "want the name of the failed node to remove, got %s"); !ok {
		return code
	}
	c, ctx, done, code := k.connect(cf, dial)
	if c == nil {
		return code
	}
	defer done()
	if err := c.Remove(ctx, fs.Arg(0)); err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	fmt.Fprintf(k.stdout, "%s removed: its partitions go to new owners, which the other replicas fill\n", fs.Arg(0))
	return exitOK
}

// debugCommands are the subcommands of `dynamo debug`, by name; each parses
// its own flags, the cluster flags among them.
var debugCommands = map[string]func(k kvCommand, args []string, dial dialer) int{
	"crash":   kvCommand.debugCrash,
	"stop":    kvCommand.debugStop,
	"disk":    kvCommand.debugDisk,
	"corrupt": kvCommand.debugCorrupt,
}

// runDebug is `dynamo debug crash|stop|disk|corrupt`.
func (k kvCommand) runDebug(_ *flag.FlagSet, _ clusterFlags, args []string, dial dialer) int {
	if len(args) > 0 {
		if run, ok := debugCommands[args[0]]; ok {
			return run(k, args[1:], dial)
		}
	}
	return k.fail(exitUsage, "want a subcommand: crash, stop, disk or corrupt")
}

// debugCrash is `dynamo debug crash --node NAME --component C [--partition P]`.
func (k kvCommand) debugCrash(args []string, dial dialer) int {
	fs := flag.NewFlagSet("dynamo debug crash", flag.ContinueOnError)
	cf := addClusterFlags(fs)
	nodeName := fs.String("node", "", "the member (by name) whose actor is to crash (required)")
	component := fs.String("component", "", "vnode, vnodes, router, membership, hints or syncer (required)")
	partition := fs.Int("partition", -1, "the partition, for --component vnode")
	if code, ok := k.parse(fs, args, "crash --node NAME --component C [--partition P]", 0, "crash takes no arguments, got %s"); !ok {
		return code
	}
	switch {
	case *nodeName == "":
		return k.fail(exitUsage, "--node is required")
	case *component == "":
		return k.fail(exitUsage, "--component is required")
	case client.FaultComponent(*component) == client.FaultVnode && *partition < 0:
		return k.fail(exitUsage, "--partition is required with --component vnode")
	}
	c, ctx, done, code := k.connect(cf, dial)
	if c == nil {
		return code
	}
	defer done()
	if err := c.InjectFault(ctx, *nodeName, client.FaultComponent(*component), max(*partition, 0)); err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	fmt.Fprintf(k.stdout, "crash of %s requested on %s\n", *component, *nodeName)
	return exitOK
}

// debugStop is `dynamo debug stop --node NAME --for D`.
func (k kvCommand) debugStop(args []string, dial dialer) int {
	fs := flag.NewFlagSet("dynamo debug stop", flag.ContinueOnError)
	cf := addClusterFlags(fs)
	nodeName := fs.String("node", "", "the member (by name) to stop (required)")
	down := fs.Duration("for", 10*time.Second, "how long it stays down before it starts again on its data")
	if code, ok := k.parse(fs, args, "stop --node NAME [--for D]", 0, "stop takes no arguments, got %s"); !ok {
		return code
	}
	switch {
	case *nodeName == "":
		return k.fail(exitUsage, "--node is required")
	}
	c, ctx, done, code := k.connect(cf, dial)
	if c == nil {
		return code
	}
	defer done()
	if err := c.StopNode(ctx, *nodeName, *down); err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	fmt.Fprintf(k.stdout, "%s stops now and starts again in %s\n", *nodeName, *down)
	return exitOK
}

func nargs(fs *flag.FlagSet) string {
	if fs.NArg() == 1 {
		return "1 argument"
	}
	return fmt.Sprintf("%d arguments", fs.NArg())
}

// getOutput is the one line `dynamo get --json` prints.
type getOutput struct {
	Key    string   `json:"key"`
	Found  bool     `json:"found"`
	Values []string `json:"values"`
	// Expires are when values expire (RFC 3339), aligned with values; ""
	// for a value that never does. Absent when none expires.
	Expires []string `json:"expires,omitempty"`
	Context string   `json:"context"`
}

// isSet reports whether the command line set flag name.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// expiryText is how get prints an expiry: RFC 3339 in UTC with
// milliseconds, "" for none.
func expiryText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return status.TimeText(t.UnixNano())
}

func (k kvCommand) get(ctx context.Context, c kvClient, key string, asJSON bool, opts []client.Option) int {
	obj, err := c.Get(ctx, []byte(key), opts...)
	if err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	enc := base64.StdEncoding
	if asJSON {
		out := getOutput{Key: key, Found: obj.Found, Values: make([]string, 0, len(obj.Values)), Context: obj.Context.String()}
		if obj.Found {
			for _, v := range obj.Values {
				out.Values = append(out.Values, enc.EncodeToString(v))
			}
			for _, e := range obj.Expires {
				out.Expires = append(out.Expires, expiryText(e))
			}
		}
		return k.printJSON(out)
	}
	if obj.Found {
		for _, v := range obj.Values {
			_, _ = k.stdout.Write(append(v, '\n'))
		}
	}
	if !obj.Context.IsZero() || obj.Found {
		fmt.Fprintf(k.stdout, "context: %s\n", obj.Context)
	}
	for i, e := range obj.Expires {
		switch {
		case e.IsZero():
		case len(obj.Expires) == 1:
			fmt.Fprintf(k.stdout, "expires: %s\n", expiryText(e))
		default:
			fmt.Fprintf(k.stdout, "expires: %s (value %d)\n", expiryText(e), i+1)
		}
	}
	if !obj.Found {
		return k.fail(exitFailed, "%q: not found", key)
	}
	return exitOK
}

// printJSON prints v as one line, without HTML escaping.
func (k kvCommand) printJSON(v any) int {
	enc := json.NewEncoder(k.stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	return exitOK
}

// membersOutput is `dynamo members --json`: the status document's
// membership part.
type membersOutput struct {
	Node       string          `json:"node"`
	Partitions int             `json:"partitions"`
	N          int             `json:"n"`
	R          int             `json:"r"`
	W          int             `json:"w"`
	Members    []status.Member `json:"members"`
	Stats      status.Stats    `json:"stats"`
}

// membership asks node (by name) or any node, and computes its ring.
func (k kvCommand) membership(ctx context.Context, c kvClient, node string) (*client.Membership, *ring.Ring, int) {
	var m *client.Membership
	var err error
	if node != "" {
		m, err = c.Status(ctx, node)
	} else {
		m, err = c.Members(ctx)
	}
	if err != nil {
		return nil, nil, k.fail(exitFailed, "%v", err)
	}
	r, err := m.Ring()
	if err != nil {
		return nil, nil, k.fail(exitFailed, "membership from %s: %v", m.Addr, err)
	}
	return m, r, exitOK
}

func (k kvCommand) members(m *client.Membership, r *ring.Ring, asJSON bool) int {
	loads := r.Loads()
	if asJSON {
		d := status.Build(m, r)
		return k.printJSON(membersOutput{Node: d.Node, Partitions: d.Partitions, N: d.N, R: d.R, W: d.W, Members: d.Members, Stats: d.Stats})
	}
	tw := tabwriter.NewWriter(k.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "name\taddr\tstate\tweight\tzone\tpartitions")
	for _, x := range m.Members {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\n", x.Name, x.Addr, x.State, x.Weight, x.Zone, loads[x.Name])
	}
	_ = tw.Flush()
	fmt.Fprintf(k.stdout, "Q=%d N=%d R=%d W=%d (as seen by %s at %s)\n", m.Partitions, m.N, m.R, m.W, m.Node, m.Addr)
	st := m.Stats
	fmt.Fprintf(k.stdout, "%s: vnodes %d, restarts %d, hints pending %d, hints delivered %d\n", m.Node, st.Vnodes, st.Restarts, st.HintsPending, st.HintsDelivered)
	return exitOK
}

// clusterRing reads the running cluster's membership for `dynamo ring`.
func clusterRing(f clusterFlags, dial dialer, stderr io.Writer) (*ring.Ring, int) {
	k := kvCommand{name: "ring", stderr: stderr}
	c, ctx, done, code := k.connect(f, dial)
	if c == nil {
		return nil, code
	}
	defer done()
	m, err := c.Members(ctx)
	if err != nil {
		return nil, k.fail(exitFailed, "%v", err)
	}
	r, err := m.Ring()
	if err != nil {
		return nil, k.fail(exitFailed, "membership from %s: %v", m.Addr, err)
	}
	return r, exitOK
}

// readValueFile reads a value from path, "-" meaning stdin, refusing more
// than 64 MiB (far above any node's value limit, which gives the error).
func readValueFile(path string) ([]byte, error) {
	const limit = 64 << 20
	f := os.Stdin
	if path != "-" {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, err
		}
		defer f.Close()
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%s is more than %d bytes", path, limit)
	}
	return b, nil
}
