package remoting

import "time"

// Component is the part of a node a FaultRequest acts on (its component
// field). Fault injection is for testing; a node accepts it only when run
// with --allow-fault-injection.
type Component string

// Actors that crash on request (their supervisor restarts them).
const (
	ComponentVnode      Component = "vnode"      // one partition's vnode (give the partition)
	ComponentVnodes     Component = "vnodes"     // the vnode manager (its vnodes restart with it)
	ComponentRouter     Component = "router"     // the request router
	ComponentMembership Component = "membership" // the membership actor
	ComponentHints      Component = "hints"      // the hint dispatcher
	ComponentSyncer     Component = "syncer"     // the Merkle syncer (anti-entropy)
)

// The whole node, and its storage.
const (
	// ComponentNode stops the node as a crash would and starts it again
	// on its data after the request's downtime (nodes of dynamo dev only).
	ComponentNode Component = "node"
	// ComponentDisk makes the node's storage engine fail every write.
	ComponentDisk Component = "disk"
	// ComponentCorrupt overwrites stored objects with garbage.
	ComponentCorrupt Component = "corrupt"
)

// Crashable are the components a crash may name.
var Crashable = []Component{ComponentVnode, ComponentVnodes, ComponentRouter, ComponentMembership, ComponentHints, ComponentSyncer}

// Bounds of fault requests, checked by the client before sending and by
// the node.
const (
	// MaxDown bounds a node stop's downtime.
	MaxDown = 10 * time.Minute
	// MaxDiskFault bounds one storage fault's duration.
	MaxDiskFault = 10 * time.Minute
	// MaxDiskFaultDelay bounds the delay of each failing write.
	MaxDiskFaultDelay = 5 * time.Second
	// MaxCorruptKeys bounds one corrupt request's random keys.
	MaxCorruptKeys = 1000
)
