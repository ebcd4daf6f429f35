package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/ring"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// options are the program's settings.
type options struct {
	seeds    []string
	listen   string
	ownNodes bool
	verbose  bool
	runID    string
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seeds := os.Getenv("DYNAMO_SEEDS")
	if seeds == "" {
		seeds = "127.0.0.1:8946"
	}
	seedList := fs.String("seeds", seeds, "actor addresses host:port of the cluster's nodes, comma-separated ($DYNAMO_SEEDS; default: dynamo dev's first node)")
	listen := fs.String("listen", "127.0.0.1:0", "the clients' own address, which the nodes reply to (reachable from them)")
	ownNodes := fs.Bool("own", false, "start a private 3-node cluster in this process instead, where a node really fails and returns")
	verbose := fs.Bool("v", false, "show the clients' and (with -own) the nodes' warnings on stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "cart: takes no arguments, got %q\n", fs.Args())
		return 2
	}
	o := options{listen: *listen, ownNodes: *ownNodes, verbose: *verbose,
		runID: fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffff)}
	for _, s := range strings.Split(*seedList, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.seeds = append(o.seeds, s)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := replay(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "cart: %v\n", strings.TrimPrefix(err.Error(), "cart: "))
		return 1
	}
	return 0
}

// replay connects (or starts a cluster), runs both scenarios and checks
// that no add was lost.
func replay(ctx context.Context, o options, stdout, stderr io.Writer) error {
	log := slog.New(slog.DiscardHandler)
	if o.verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	var cl cluster = remote{seeds: o.seeds, listen: o.listen}
	if o.ownNodes {
		fmt.Fprintln(stdout, "Starting a private cluster of 3 nodes in this process, on loopback ports...")
		own, err := startOwn("", 3, log)
		if err != nil {
			return err
		}
		cl = own
	}
	defer cl.Close()
	results, err := scenarios(ctx, cl, o.listen, o.runID, log, stdout)
	if err != nil {
		if !o.ownNodes && errors.Is(err, client.ErrUnavailable) {
			return fmt.Errorf("%w\n(start a cluster first: go run ./cmd/dynamo dev; or run go run ./examples/cart -own)", err)
		}
		return err
	}
	for i, r := range results {
		if lost := missing(r.Added, r.Merged); len(lost) > 0 {
			return fmt.Errorf("cart: scenario %d lost %v", i+1, lost)
		}
	}
	fmt.Fprintln(stdout, "Both scenarios kept every add.")
	return nil
}

// scenarios runs both scenarios against cl with two clients (two devices,
// or two people), each with its own actor system, as two programs would.
func scenarios(ctx context.Context, cl cluster, listen, runID string, log *slog.Logger, out io.Writer) ([]*Result, error) {
	dial := func() (*client.Client, error) {
		return client.New(ctx, client.Config{Seeds: cl.Seeds(), ListenAddr: listen, Logger: log})
	}
	a, err := dial()
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := dial()
	if err != nil {
		return nil, err
	}
	defer b.Close()
	// A cluster just started may not have gathered its members yet.
	if err := waitFor(ctx, 15*time.Second, "3 members up", func(ctx context.Context) bool {
		m, err := a.Members(ctx)
		if err != nil {
			return false
		}
		up := 0
		for _, x := range m.Members {
			if x.State == ring.Up {
				up++
			}
		}
		return up >= 3
	}); err != nil {
		return nil, fmt.Errorf("%w (the scenarios need 3 nodes up)", err)
	}
	r1, err := paper(ctx, out, cl, a, b, []byte("cart:"+runID+":paper"))
	if err != nil {
		return nil, err
	}
	r2, err := sameCoordinator(ctx, out, a, b, []byte("cart:"+runID+":shared"))
	if err != nil {
		return nil, err
	}
	return []*Result{r1, r2}, nil
}
