// Command cart replays the shopping cart of the Dynamo paper (section 4.4,
// figure 3) against a dynamo cluster, step by step, explaining each one:
//
//  1. The paper's scenario: a phone adds a banana, then an apple; the
//     cart's first replica fails; the phone and a laptop, both holding the
//     cart as it was, add an item each through two other coordinators;
//     the failed node returns and receives what it missed (hinted
//     handoff). A read returns both versions as siblings, with their
//     version vectors; the program merges them (an observed-remove set,
//     package crdt), writes the merge with the read's context, and reads
//     back one cart that kept every add.
//  2. Two clients write the same cart through the same coordinator at the
//     same moment, with the same context: both adds survive as siblings
//     (dotted version vectors; a plain vector clock keyed by the
//     coordinator would lose one), and client.Update with crdt.MergeORSets
//     merges them.
//
// Usage:
//
//	go run ./cmd/dynamo dev        # in one terminal: a local 3-node cluster
//	go run ./examples/cart         # in another
//	go run ./examples/cart -own    # or: a private cluster in this process
//
// Against a running cluster (-seeds, default $DYNAMO_SEEDS, else
// 127.0.0.1:8946, the first node of `dynamo dev`) the program asks the
// cart's first replica to stop for a few seconds (client.StopNode, as
// `dynamo debug stop`): nodes of `dynamo dev` accept, stop as a crash
// would and start again on their data. Other clusters refuse, and then the
// failure of scenario 1 is played from the client's side: the writes go to
// the other coordinators, as they would while the node is down, and the
// program says so. With -own it starts three nodes of its own on free
// loopback ports, as `dynamo dev` does, and stops one itself.
//
// Writes are sent through chosen coordinators with client.PutVia. The
// contexts are opaque to applications; the program decodes them (package
// version) only to show the version vectors.
package main
