// Package chaos attacks a cluster of real `dynamo agent` processes in the
// manner of Jepsen, and checks that no acknowledged write was lost and no
// deleted, overwritten or expired value came back.
//
// A run starts N agents (5 by default, and a spare for the join fault) and
// runs five workloads, each its own clients, every write recorded with its
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
//     covers, so the expected final state is exact;
//   - read-your-writes: fresh keys, each written once with no context
//     and read back at once, and older ones again later.
//
// Expiry runs through the registers and the fresh keys: some puts carry a
// time to live (client.TTL), a short one (300 ms to 3 s) that expires
// during the run or a long one (1 h) that must not. A register whose last
// write has a short one rests, now and then, until its value has expired
// and its key had the agents' tombstone grace (20 s) and a reap pass to
// be reaped, and is written again (each rest, after a delete or an
// expiry, notes the owners that still stored the key when it woke); after
// a put with a time to live a register's next write is, now and then, a
// put with no context and no time to live: a sibling that must outlive
// the value beside it. Each write records when it was sent and when it
// returned, by the wall clock (the nodes' expiries are wall-clock times,
// and every agent runs on this machine, so there is no skew): the
// coordinator fixes a value's expiry, its time plus the time to live,
// between the two.
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
// Each key's final reads are timed (from the first request to the last
// answer), and a value with a time to live is, at them, certainly live
// when every answer came before its put was sent plus its time to live:
// it is then checked as any value (lost if an acknowledged one that no
// write superseded is missing); certainly expired when its put was
// acknowledged and the reads began after the acknowledgement plus its time
// to live: it must then be in no read, through the cluster or on a
// replica ("expired register values that came back", a failure); and in
// between either, readers included. The expiries a read through the
// cluster reports must lie between the put's send and its
// acknowledgement plus its time to live, and be none for a put without
// one (a failure otherwise). During the run, a read that misses its own
// client's last acknowledged put is stale only if it answered before that
// put's send plus its time to live. The report counts the puts with a
// time to live, acknowledged, checked expired, checked live and
// undecided, and the rests after which the key was gone from every owner.
//
// The schedule (Plan) and the checkers (Check, CheckRegisters) are pure:
// the same seed gives the same schedule, and the verdict is a function of
// the history and the final reads. Run drives the processes.
package chaos
