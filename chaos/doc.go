// Package chaos attacks a cluster of real `dynamo agent` processes in the
// manner of Jepsen, and checks that no acknowledged write was lost.
//
// A run starts N agents (5 by default) on loopback, runs the shopping-cart
// workload (clients add unique items to a few carts by read, merge the
// siblings by set union, write with the context), and meanwhile a nemesis
// injects faults on a schedule drawn from a seeded generator: SIGKILL and
// restart of one or two nodes, SIGSTOP/SIGCONT pauses. After the last
// heal and a quiet period, the checker reads every cart at R=N through
// every node and each replica directly, and reports acknowledged adds lost,
// items that were never added, acknowledged adds never seen, and whether
// every replica converged (identical versions, equal Merkle roots).
//
// The schedule (Plan) and the checker (Check) are pure: the same seed
// gives the same schedule, and the checker is a function of the history
// and the final reads. Run drives the processes.
//
// Network partitions (random halves, one node isolated, bridge, majorities
// ring) need a network namespace per node and root; they are not built yet.
// The report says which faults the run could inject.
package chaos
