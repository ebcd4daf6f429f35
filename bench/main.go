package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: bench <subcommand> [flags]

subcommands:
  ring   partition placement quality: balance and movement by cluster size
  load   YCSB-style load against a cluster (its own local one by default):
         throughput and latency percentiles
  restart  how soon a node on a large data directory answers after a
         clean stop and after SIGKILL
  fsync  what an fsync costs the whole machine's CPU, beyond its wait
  wire   the messages of a put or a get over bare protoactor remoting
         between 3 node processes: what the transport costs`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	switch args[0] {
	case "ring":
		return runRing(args[1:], stdout, stderr)
	case "load":
		return runLoad(args[1:], stdout, stderr)
	case "restart":
		return runRestart(args[1:], stdout, stderr)
	case "fsync":
		return runFsync(args[1:], stdout, stderr)
	case "wire":
		return runWire(args[1:], stdout, stderr)
	case "_wire":
		// Hidden: one node process of bench wire.
		return runWireChild(args[1:], stdout, stderr)
	case "_fsync":
		// Hidden: the fsyncing process of bench fsync.
		return runFsyncChild(args[1:], stderr)
	case "_node":
		// Hidden: one node of the local cluster `bench load` starts.
		return runNode(args[1:], stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "bench: unknown subcommand %q (known: ring, load, restart, fsync, wire)\n", args[0])
		return 2
	}
}
