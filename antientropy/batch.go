package antientropy

import (
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
)

// Side is one of the two replicas of a session.
type Side int

// The sides.
const (
	Local Side = iota
	Remote
)

// MergeBatch is one ReplicaMergeRequest's worth of merged key sets for one
// side: its items and their encoded size.
type MergeBatch struct {
	Side  Side
	Items []*messages.KeySet
	Bytes int
}

// Batches resolves each repair from the two sets read for it (sets[i] is
// repairs[i]'s local and remote set, nil for a side not read), as the
// session's Resolve at nowNs says, and groups what each side must be written into
// batches of at most maxBytes encoded (an item larger than that goes
// alone), in repair order.
func (s *Session) Batches(repairs []Repair, sets [][2]*version.Set, maxBytes int, nowNs int64) []MergeBatch {
	var batches []MergeBatch
	open := [2]int{-1, -1} // each side's batch being filled, by index
	for i, r := range repairs {
		merged, writeLocal, writeRemote := s.Resolve(r, sets[i][0], sets[i][1], nowNs)
		for side, w := range [2]bool{writeLocal, writeRemote} {
			if !w {
				continue
			}
			item := &messages.KeySet{Key: r.Key, Set: version.ToProto(merged)}
			size := proto.Size(item)
			if b := open[side]; b < 0 || (batches[b].Bytes+size > maxBytes && len(batches[b].Items) > 0) {
				batches = append(batches, MergeBatch{Side: Side(side)})
				open[side] = len(batches) - 1
			}
			b := &batches[open[side]]
			b.Items = append(b.Items, item)
			b.Bytes += size
		}
	}
	return batches
}
