package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: bench <subcommand> [flags]\n\nsubcommands:\n  ring   partition placement quality: balance and movement by cluster size")
		return 2
	}
	switch args[0] {
	case "ring":
		return runRing(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "bench: unknown subcommand %q (known: ring)\n", args[0])
		return 2
	}
}
