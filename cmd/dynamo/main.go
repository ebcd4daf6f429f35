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

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "usage: dynamo <command> [flags]\n\ncommands:\n  agent     run a node (dynamo agent --help)\n  dev       run a local cluster of several nodes in this process\n  version   print version and protocol\n  ring      show partition placement for a membership, or of the running cluster\n  get       read a key\n  put       write a key\n  delete    delete a key\n  members   list the cluster's members\n  status    one node's counters, anti-entropy and handoff progress\n  leave     make a node hand its data off and leave\n  remove    take a failed node out of the ring for good\n  debug     fault injection (debug crash)\n  certs     make a cluster CA, node and client certificates, gossip keys\n\n"+kvUsage)
		return 2
	}
	switch args[0] {
	case "version":
		fmt.Fprintf(stdout, "dynamo %s (protocol %d, key hash md5)\n", Version, messages.ProtocolVersion)
		return 0
	case "certs":
		return runCerts(args[1:], stdout, stderr)
	case "agent":
		return runAgent(args[1:], stdout, stderr)
	case "dev":
		return runDev(args[1:], stdout, stderr)
	case "ring":
		return runRing(args[1:], stdout, stderr, dialCluster)
	case "get", "put", "delete", "members", "status", "leave", "remove", "debug":
		return runKV(args[0], args[1:], stdout, stderr, dialCluster)
	}
	fmt.Fprintf(stderr, "dynamo: unknown command %q (known: agent, dev, version, ring, get, put, delete, members, status, leave, remove, debug)\n", args[0])
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
