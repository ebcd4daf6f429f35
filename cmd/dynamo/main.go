package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/ring"
)

// Version is the release, set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// command is one `dynamo` command.
type command struct {
	name    string
	summary string // one line of the usage text
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands are every `dynamo` command, in the order the usage lists them
// (doc.go lists them too: a test holds both).
var commands = []command{
	{"agent", "run a node (dynamo agent --help)", runAgent},
	{"dev", "run a local cluster of several nodes in this process", runDev},
	{"version", "print version and protocol", runVersion},
	{"ring", "show partition placement for a membership, or of the running cluster", func(args []string, stdout, stderr io.Writer) int {
		return runRing(args, stdout, stderr, dialCluster)
	}},
	{"get", "read a key", clusterCommand("get")},
	{"put", "write a key", clusterCommand("put")},
	{"delete", "delete a key", clusterCommand("delete")},
	{"keys", "list the keys (--prefix, --limit, --cursor)", clusterCommand("keys")},
	{"export", "write every key's versions to a file (--out FILE): an online backup", clusterCommand("export")},
	{"import", "merge an export back into the cluster", clusterCommand("import")},
	{"members", "list the cluster's members", clusterCommand("members")},
	{"status", "one node's counters, anti-entropy and handoff progress", clusterCommand("status")},
	{"leave", "make a node hand its data off and leave", clusterCommand("leave")},
	{"remove", "take a failed node out of the ring for good", clusterCommand("remove")},
	{"background", "pause or resume a node's hint delivery, handoffs, anti-entropy", clusterCommand("background")},
	{"debug", "fault injection (debug crash, stop, disk, corrupt)", clusterCommand("debug")},
	{"certs", "make a cluster CA, node and client certificates, gossip keys", runCerts},
}

// clusterCommand runs the cluster command name (kvCommands) against the
// real cluster.
func clusterCommand(name string) func(args []string, stdout, stderr io.Writer) int {
	return func(args []string, stdout, stderr io.Writer) int {
		return runKV(name, args, stdout, stderr, dialCluster)
	}
}

func runVersion(_ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "dynamo %s (protocol %d, key hash md5)\n", Version, messages.ProtocolVersion)
	return 0
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		var b strings.Builder
		b.WriteString("usage: dynamo <command> [flags]\n\ncommands:\n")
		for _, c := range commands {
			fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
		}
		fmt.Fprint(stderr, b.String()+"\n"+kvUsage)
		return 2
	}
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
		names = append(names, c.name)
	}
	fmt.Fprintf(stderr, "dynamo: unknown command %q (known: %s)\n", args[0], strings.Join(names, ", "))
	return 2
}

func runRing(args []string, stdout, stderr io.Writer, dial dialer) int {
	fs := flag.NewFlagSet("dynamo ring", flag.ContinueOnError)
	fs.SetOutput(stderr)
	q := fs.Int("partitions", 64, "Q, partitions in the ring (power of two, 8..1024); only with --members")
	n := fs.Int("n", 3, "replicas per partition; only with --members")
	members := fs.String("members", "", "comma-separated members, each name[:weight[:zone]]; without it, the running cluster's (--seeds)")
	key := fs.String("key", "", "show the partition and preference list of this key instead of the loads")
	cf := addClusterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var r *ring.Ring
	if given["members"] {
		ms, err := parseMembers(*members)
		if err != nil {
			fmt.Fprintf(stderr, "dynamo ring: --members: %v\n", err)
			return 2
		}
		r, err = ring.New(ring.Config{Partitions: *q, N: *n}, ms)
		if err != nil {
			fmt.Fprintf(stderr, "dynamo ring: %v\n", err)
			return 2
		}
	} else {
		if given["partitions"] || given["n"] {
			fmt.Fprintln(stderr, "dynamo ring: --partitions and --n describe an offline ring: give --members too (the running cluster has its own)")
			return 2
		}
		var code int
		if r, code = clusterRing(cf, dial, stderr); r == nil {
			return code
		}
	}
	if *key != "" {
		p := r.Partition([]byte(*key))
		pl := r.PreferenceList(p)
		fmt.Fprintf(stdout, "key %q: partition %d\nprimaries: %s\nfallbacks: %s\n", *key, p,
			strings.Join(pl[:r.N()], " "), strings.Join(pl[r.N():], " "))
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "member\tweight\tzone\treplicas\tshare")
	loads, share := r.Loads(), r.Share()
	for _, m := range r.Members() {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%.1f\n", m.Name, m.Weight, m.Zone, loads[m.Name], share[m.Name])
	}
	tw.Flush()
	fmt.Fprintf(stdout, "balance %.3f (largest load ÷ weighted share)\n", r.Balance())
	return 0
}

func parseMembers(s string) ([]ring.Member, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("required, e.g. --members a,b,c or a:2:rack1,b:1:rack2")
	}
	var out []ring.Member
	for _, item := range strings.Split(s, ",") {
		parts := strings.Split(strings.TrimSpace(item), ":")
		if len(parts) > 3 {
			return nil, fmt.Errorf("%q: want name[:weight[:zone]]", item)
		}
		m := ring.Member{Name: parts[0], Weight: 1}
		if len(parts) > 1 {
			w, err := strconv.Atoi(parts[1])
			if err != nil {
				return nil, fmt.Errorf("%q: weight %q is not a number", item, parts[1])
			}
			m.Weight = w
		}
		if len(parts) > 2 {
			m.Zone = parts[2]
		}
		out = append(out, m)
	}
	return out, nil
}
