// Package coordinator holds the request coordinators of the Dynamo paper
// as pure state machines, after riak_kv's get and put FSMs and in the
// style of etcd-io/raft: each has one Step(event) that returns one Ready
// batch of effects. A coordinator actor (one per request, package actors)
// or the Go client's read loop creates one, carries out its Ready, and
// steps it with the replies, its timers and its deadline. No I/O, no
// clocks, no goroutines.
//
// Contract:
//   - Route computes where a key's requests go: its partition, and the
//     sloppy-quorum targets (every up primary, and for each down primary the
//     next up fallback, with the primary it stands in for); the down
//     primaries no fallback covers are Uncovered. A strict route (hinted
//     handoff off) has only the up primaries.
//   - Get: NewGet validates R against N (refusing before anything is sent),
//     fails fast with an UnavailableError when fewer than R targets are
//     reachable, and returns the first GetReady: the replica reads to send
//     (to R targets only with QuorumFirst, below). Step (GetReplied,
//     GetSpeculate, GetDeadline) returns the client's answer exactly once:
//     after R replies (merged with version.Sync; "not found" only on R
//     primaries' word or once every primary asked answered, never on a
//     fallback's), or at the deadline with a *quorum.Error that says needed
//     and got. After answering, the get keeps listening; once every target
//     asked replied or the deadline passed, it returns the read repairs:
//     the merged set for every replica that answered with an older version
//     or not found.
//   - With GetOptions.QuorumFirst, the first GetReady reads R targets only
//     (First ahead, the others rotated by Spread) and says Speculate: the
//     caller arms its speculative-retry timer and steps GetSpeculate, which
//     reads every target left. A failed reply's GetReady reads another
//     target. Targets never asked are skipped once the read answers: no
//     repairs, no timeouts for them.
//   - Put: NewPut decides who coordinates: this node if it is an up primary
//     of the key, else the first up primary (Forward); the coordinator's own
//     dot goes into the version. The local vnode computes the version
//     (vnode.Store.Prepare); Step(PutPrepared) returns the replica writes of
//     it to the other targets (a fallback gets it with the primary it holds
//     a hint for) while the local write is under way, and
//     Step(PutCoordinated) counts that write's outcome. The answer comes
//     after W acks (PutReplied), or at the deadline (PutDeadline) with a
//     *quorum.Error. With PutOptions.Hints the coordinator also keeps a
//     hint itself (Replicate.Local, not counted toward W) for each
//     Uncovered primary, each target that failed, and each target silent at
//     the deadline: no write is dropped while the coordinator's disk holds
//     it. A PutReady also says whether to forget a version stored nowhere,
//     and whether the write is done.
package coordinator
