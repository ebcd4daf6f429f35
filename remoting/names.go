package remoting

import "strconv"

// Actor ids, the same on every node, so a peer or a client addresses them as
// actor.NewPID(addr, id). A node's actors are children of its root
// supervisor, so their ids are paths under SupervisorName.
const (
	// SupervisorName is the node's root supervisor.
	SupervisorName = "dynamo"
	// RouterName is the request router: clients send Get/Put/Delete/Members
	// envelopes to it.
	RouterName = SupervisorName + "/" + RouterChild
	// VnodesName is the vnode manager; vnode actors are its children.
	VnodesName = SupervisorName + "/" + VnodesChild
	// MembershipName is the membership actor.
	MembershipName = SupervisorName + "/" + MembershipChild
	// HintsName is the hint dispatcher: fallbacks and coordinators send it
	// the hints they keep, reads ask it for them, and it delivers them to
	// their owners.
	HintsName = SupervisorName + "/" + HintsChild
	// SyncerName is the Merkle syncer: it runs anti-entropy exchanges
	// between a node's vnodes and the other replicas of their partitions.
	SyncerName = SupervisorName + "/" + SyncerChild
)

// The root supervisor's children, by name.
const (
	RouterChild     = "router"
	VnodesChild     = "vnodes"
	MembershipChild = "membership"
	HintsChild      = "hints"
	SyncerChild     = "syncer"
)

// VnodeName is the actor id of partition p's vnode on every node (a child of
// the vnode manager): a coordinator, or a client coordinating a read,
// addresses it as actor.NewPID(node, VnodeName(p)).
func VnodeName(p uint32) string { return VnodesName + "/" + VnodeChild(p) }

// VnodeChild is partition p's vnode's name under the vnode manager.
func VnodeChild(p uint32) string { return "vnode-" + strconv.FormatUint(uint64(p), 10) }
