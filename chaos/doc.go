// Package chaos attacks a cluster of real `dynamo agent` processes in the
// manner of Jepsen, and checks that no acknowledged write was lost.
//
// A run starts N agents (5 by default), runs the shopping-cart workload
// (clients add unique items to a few carts by read, merge the siblings by
// set union, write with the context), and meanwhile a nemesis injects
// faults on a schedule drawn from a seeded generator: SIGKILL and restart
// of one or two nodes, SIGSTOP/SIGCONT pauses, and, when the run is root
// with the ip command, network partitions: every agent then runs in its
// own network namespace on a private bridge, and a partition (random
// halves, one node isolated, a bridge node seeing both halves, a
// majorities ring) is blackhole routes between the sides, real packet
// drops. Elsewhere the agents run on loopback with process faults only,
// and the report says so. After the last
// heal and a quiet period, the checker reads every cart at R=N through
// every node and each replica directly, and reports acknowledged adds lost,
// items that were never added, acknowledged adds never seen, and whether
// every replica converged (identical versions, equal Merkle roots).
//
// The schedule (Plan) and the checker (Check) are pure: the same seed
// gives the same schedule, and the checker is a function of the history
// and the final reads. Run drives the processes.
package chaos
