package ring

import "fmt"

// Quality is how well a ring places partitions, measured against the
// ideal: Balance is the largest load ÷ weighted share; JoinMovement and
// LeaveMovement are the replicas that change hands when one member joins
// (or leaves) ÷ the ideal number (the joiner's share, or the leaver's load),
// the worst over the cases tried.
type Quality struct {
	Members       int
	Partitions    int
	N             int
	Balance       float64
	JoinMovement  float64
	LeaveMovement float64
}

// Evaluate measures the ring of members: its balance, the movement when
// each of joiners joins it alone, and when each member in turn leaves.
func Evaluate(cfg Config, members []Member, joiners []Member) (Quality, error) {
	base, err := New(cfg, members)
	if err != nil {
		return Quality{}, err
	}
	q := Quality{Members: len(members), Partitions: cfg.Partitions, N: cfg.N, Balance: base.Balance()}
	for _, j := range joiners {
		grown, err := New(cfg, append(append([]Member(nil), members...), j))
		if err != nil {
			return Quality{}, err
		}
		moved, _ := Moved(base, grown)
		if ideal := grown.share[j.Name]; ideal > 0 {
			q.JoinMovement = max(q.JoinMovement, float64(moved)/ideal)
		}
	}
	loads := base.Loads()
	for k, m := range members {
		if len(members) <= cfg.N {
			break // every member holds every partition; a leave moves nothing anywhere
		}
		rest := append(append([]Member(nil), members[:k]...), members[k+1:]...)
		shrunk, err := New(cfg, rest)
		if err != nil {
			return Quality{}, err
		}
		moved, _ := Moved(base, shrunk)
		if ideal := loads[m.Name]; ideal > 0 {
			q.LeaveMovement = max(q.LeaveMovement, float64(moved)/float64(ideal))
		}
	}
	return q, nil
}

// Nodes returns n members named node-01.. with weight 1 and no zone.
func Nodes(n int) []Member {
	out := make([]Member, n)
	for i := range out {
		out[i] = Member{Name: fmt.Sprintf("node-%02d", i+1), Weight: 1}
	}
	return out
}
