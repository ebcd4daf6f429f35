// Package progress follows transfers to other nodes for status: per
// target, what is pending, what was sent, the rate over the last minute
// and the time left at that rate. The hint dispatcher counts hints per
// owner with it and the Merkle syncer partitions to hand off per new
// owner. Time is passed in; a Tracker is safe for concurrent use.
package progress
