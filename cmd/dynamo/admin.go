package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/dynamokv/dynamo/client"
	"github.com/dynamokv/dynamo/remoting"
)

// leavePoll is how often `dynamo leave` checks the leaving node's progress.
var leavePoll = 500 * time.Millisecond

// leave runs `dynamo leave [--node NAME] [--wait] [--wait-timeout D]`.
func (k kvCommand) leave(fs *flag.FlagSet, cf clusterFlags, args []string, dial dialer) int {
	nodeName := fs.String("node", "", "the member (by name) that leaves (default: the node at the first seed)")
	wait := fs.Bool("wait", true, "wait until the node has handed everything off and left")
	waitTimeout := fs.Duration("wait-timeout", 10*time.Minute, "give up waiting after this long (the node goes on leaving)")
	if code, ok := k.parse(fs, args, "[flags]", 0, "takes no arguments, got %s (name the node with --node)"); !ok {
		return code
	}
	extra := time.Duration(0)
	if *wait {
		extra = *waitTimeout
	}
	c, ctx, done, code := k.connect(cf, dial, extra)
	if c == nil {
		return code
	}
	defer done()
	name, err := nodeOrSeed(ctx, c, *nodeName)
	if err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	n, err := c.Leave(ctx, name)
	if err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	fmt.Fprintf(k.stdout, "%s is leaving: handing off %d partitions\n", name, n)
	if !*wait {
		return exitOK
	}
	return k.waitLeft(ctx, c, name, *waitTimeout)
}

// waitLeft polls until name is no longer a member, printing the
// partitions it still holds when that changes.
func (k kvCommand) waitLeft(ctx context.Context, c kvClient, name string, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	last := -1
	for {
		if st, err := c.Status(ctx, name); err == nil && st.Node == name {
			if st.Stats.Vnodes != last {
				last = st.Stats.Vnodes
				fmt.Fprintf(k.stdout, "%s: %d partitions still to hand off (%d handed off, %d keys moved)\n",
					name, last, st.Stats.HandoffsDone, st.Stats.HandoffKeys)
			}
		} else if m, err := c.Members(ctx); err == nil && !member(m, name) {
			fmt.Fprintf(k.stdout, "%s has left the cluster\n", name)
			return exitOK
		}
		if time.Now().After(deadline) {
			return k.fail(exitFailed, "%s has not left after %v (it goes on handing off; its owners must all be up): see dynamo status --node %s", name, timeout, name)
		}
		select {
		case <-ctx.Done():
			return k.fail(exitFailed, "%s has not left: %v", name, ctx.Err())
		case <-time.After(leavePoll):
		}
	}
}

func member(m *client.Membership, name string) bool {
	for _, x := range m.Members {
		if x.Name == name {
			return true
		}
	}
	return false
}

// storageFaults is the storage fault injection of *client.Client. It is
// not part of kvClient, so that the tests' fake client need not have it.
type storageFaults interface {
	FailDiskWrites(ctx context.Context, node string, d, minDelay, maxDelay time.Duration) error
	CorruptKey(ctx context.Context, node string, key []byte) error
	CorruptPartition(ctx context.Context, node string, partition uint32, keys int) error
}

// debugDisk is `dynamo debug disk --node NAME --fail-writes D [--delay-min D] [--delay-max D]`.
func (k kvCommand) debugDisk(args []string, dial dialer) int {
	fs := flag.NewFlagSet("dynamo debug disk", flag.ContinueOnError)
	cf := addClusterFlags(fs)
	nodeName := fs.String("node", "", "the member (by name) whose storage writes fail (required)")
	failFor := fs.Duration("fail-writes", -1, "how long every storage write fails with EIO (required; 0 ends a fault)")
	lo := fs.Duration("delay-min", 20*time.Millisecond, "shortest delay before a failing write returns its error")
	hi := fs.Duration("delay-max", 50*time.Millisecond, "longest delay before a failing write returns its error")
	if code, ok := k.parse(fs, args, "disk --node NAME --fail-writes D [--delay-min D] [--delay-max D]", 0, "disk takes no arguments, got %s"); !ok {
		return code
	}
	switch {
	case *nodeName == "":
		return k.fail(exitUsage, "--node is required")
	case *failFor < 0:
		return k.fail(exitUsage, "--fail-writes is required (a duration; 0 ends a fault)")
	case *lo < 0 || *hi < *lo:
		return k.fail(exitUsage, "want 0 <= --delay-min <= --delay-max, got %v and %v", *lo, *hi)
	}
	f, ctx, done, code := k.connectFaults(cf, dial)
	if f == nil {
		return code
	}
	defer done()
	if err := f.FailDiskWrites(ctx, *nodeName, *failFor, *lo, *hi); err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	if *failFor == 0 {
		fmt.Fprintf(k.stdout, "storage writes of %s succeed again\n", *nodeName)
	} else {
		fmt.Fprintf(k.stdout, "storage writes of %s fail with EIO for %v, each after %v to %v\n", *nodeName, *failFor, *lo, *hi)
	}
	return exitOK
}

// debugCorrupt is `dynamo debug corrupt --node NAME (--key K | --partition P [--keys N])`.
func (k kvCommand) debugCorrupt(args []string, dial dialer) int {
	fs := flag.NewFlagSet("dynamo debug corrupt", flag.ContinueOnError)
	cf := addClusterFlags(fs)
	nodeName := fs.String("node", "", "the member (by name) whose stored objects are corrupted (required)")
	key := fs.String("key", "", "the key whose stored copy is overwritten with garbage")
	partition := fs.Int("partition", -1, "without --key: the partition whose random keys are corrupted")
	keys := fs.Int("keys", 1, "without --key: how many random keys of the partition (1 to 1000)")
	if code, ok := k.parse(fs, args, "corrupt --node NAME (--key K | --partition P [--keys N])", 0, "corrupt takes no arguments, got %s"); !ok {
		return code
	}
	switch {
	case *nodeName == "":
		return k.fail(exitUsage, "--node is required")
	case (*key == "") == (*partition < 0):
		return k.fail(exitUsage, "want either --key or --partition")
	case *key == "" && (*keys < 1 || *keys > remoting.MaxCorruptKeys):
		return k.fail(exitUsage, "--keys must be 1 to %d, got %d", remoting.MaxCorruptKeys, *keys)
	}
	f, ctx, done, code := k.connectFaults(cf, dial)
	if f == nil {
		return code
	}
	defer done()
	var err error
	what := fmt.Sprintf("%q", *key)
	if *key != "" {
		err = f.CorruptKey(ctx, *nodeName, []byte(*key))
	} else {
		err = f.CorruptPartition(ctx, *nodeName, uint32(*partition), *keys)
		what = fmt.Sprintf("%d random keys of partition %d", *keys, *partition)
	}
	if err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	fmt.Fprintf(k.stdout, "corruption of %s requested on %s (its log says what it corrupted)\n", what, *nodeName)
	return exitOK
}

var _ storageFaults = (*client.Client)(nil)

// connectFaults dials the cluster for a storage fault command; code is the
// exit code when f is nil.
func (k kvCommand) connectFaults(cf clusterFlags, dial dialer) (f storageFaults, ctx context.Context, done func(), code int) {
	c, ctx, done, code := k.connect(cf, dial)
	if c == nil {
		return nil, nil, nil, code
	}
	f, ok := c.(storageFaults)
	if !ok {
		done()
		return nil, nil, nil, k.fail(exitFailed, "this client cannot inject storage faults")
	}
	return f, ctx, done, 0
}

// runBackground is `dynamo background pause|resume|status`.
func (k kvCommand) runBackground(fs *flag.FlagSet, cf clusterFlags, args []string, dial dialer) int {
	nodeName := fs.String("node", "", "the member (by name) (default: the node at the first seed)")
	if code, ok := k.parse(fs, args, "[flags] pause|resume|status", 1, "want pause, resume or status, got %s"); !ok {
		return code
	}
	var action client.BackgroundAction
	switch fs.Arg(0) {
	case "pause":
		action = client.BackgroundPause
	case "resume":
		action = client.BackgroundResume
	case "status":
		action = client.BackgroundStatus
	default:
		return k.fail(exitUsage, "want pause, resume or status, got %q", fs.Arg(0))
	}
	c, ctx, done, code := k.connect(cf, dial, 0)
	if c == nil {
		return code
	}
	defer done()
	name, err := nodeOrSeed(ctx, c, *nodeName)
	if err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	paused, err := c.Background(ctx, name, action)
	if err != nil {
		return k.fail(exitFailed, "%v", err)
	}
	state := "running"
	if paused {
		state = "paused"
	}
	fmt.Fprintf(k.stdout, "%s: background work %s\n", name, state)
	return exitOK
}

// nodeOrSeed is name, or when it is empty the node at the first seed
// (the one that answers Members).
func nodeOrSeed(ctx context.Context, c kvClient, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	m, err := c.Members(ctx)
	if err != nil {
		return "", err
	}
	return m.Node, nil
}
