// Package chaos attacks a cluster of real `dynamo agent` processes in the
// manner of Jepsen, and checks that no acknowledged write was lost and no
// deleted or overwritten value came back.
//
// A run starts N agents (5 by default, and a spare for the join fault) and
// runs four workloads, each its own clients, every write recorded with its
// outcome (acknowledged, failed, unknown) and time:
//
//   - read-merge-write: the shopping cart (read a cart, merge its siblings
//     by set union, add a unique item, write with the read's context);
//   - own-context writers: read a cart once, then several writes each
//     carrying the context the client's own previous put returned, each
//     value the union of the read and the client's own adds;
//   - blind writers: one new item with no context, on the same carts and
//     on quiet carts that only one slow merger folds, so that siblings
//     stay unmerged for seconds;
//   - delete and re-add: registers owned by one client each, put,
//     overwritten or deleted with the context of the client's own put or
//     of a read, and put again; each write records what its context
//     covers, so the expected final state is exact.
//
// Meanwhile a nemesis injects faults on a schedule drawn from a seeded
// generator (Plan), one at a time, never on a majority, each healed:
// SIGKILL and restart, SIGSTOP/SIGCONT, network partitions (when the run
// is root with the ip command: every agent then runs in its own network
// namespace on a private bridge, and a partition — random halves, one
// node isolated, a bridge node seeing both halves, a majorities ring — is
// blackhole routes between the sides), a disk that fails writes with EIO
// after a delay (so that a write's other replicas ack before its
// coordinator's own commit fails), stored objects corrupted under a
// running node, a node leaving (handing its partitions off and dropping
// them) and rejoining on its data, and a spare node joining and leaving.
// The storage faults go through FaultRequests that agents started with
// --allow-fault-injection accept (`dynamo debug disk`, `dynamo debug
// corrupt`).
//
// After the last heal and a quiet period, the checker reads every key at
// R=N through the cluster and on each replica directly, and reports
// acknowledged writes lost, values superseded by an acknowledged delete or
// overwrite that came back (resurrected), values nobody wrote, and whether
// every replica converged (identical versions, equal Merkle roots).
//
// The schedule (Plan) and the checkers (Check, CheckRegisters) are pure:
// the same seed gives the same schedule, and the verdict is a function of
// the history and the final reads. Run drives the processes.
package chaos
