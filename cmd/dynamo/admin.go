package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/dynamokv/dynamo/client"
)

// leavePoll is how often `dynamo leave` checks the leaving node's progress.
var leavePoll = 500 * time.Millisecond

// leave runs `dynamo leave [--node NAME] [--wait] [--wait-timeout D]`.
func (k kvCommand) leave(fs *flag.FlagSet, cf clusterFlags, args []string, dial dialer) int {
	nodeName := fs.String("node", "", "the member (by name) that leaves (default: the node at the first seed)")
	wait := fs.Bool("wait", true, "wait until the node has handed everything off and left")
	waitTimeout := fs.Duration("wait-timeout", 10*time.Minute, "give up waiting after this long (the node goes on leaving)")
	if code, ok := k.parse(fs, args, "[flags]"); !ok {
		return code
	}
	if fs.NArg() != 0 {
		return k.fail(exitUsage, "takes no arguments, got %s (name the node with --node)", nargs(fs))
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
	name := *nodeName
	if name == "" {
		m, err := c.Members(ctx)
		if err != nil {
			return k.fail(exitFailed, "%v", err)
		}
		name = m.Node
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
