package cluster

import (
	"fmt"

	"github.com/dynamokv/dynamo/ring"
)

// Status is a serf member status as dynamo reads it.
type Status int

const (
	StatusAlive Status = iota
	StatusFailed
	StatusLeaving
	StatusLeft
)

func (s Status) String() string {
	switch s {
	case StatusAlive:
		return "alive"
	case StatusFailed:
		return "failed"
	case StatusLeaving:
		return "leaving"
	case StatusLeft:
		return "left"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Node is one serf member: its name, status and tags.
type Node struct {
	Name   string
	Status Status
	Tags   map[string]string
}

// Refused is a node left out of the view, and why.
type Refused struct {
	Name string
	Err  error
}

// View turns serf members into ring members. Alive nodes are Up, failed
// nodes stay in the ring as Down (a failure is temporary), nodes that are
// leaving (serf status, or the leaving tag while they hand off) are Leaving,
// and left nodes are dropped. A node whose tags do not decode or that is not
// Compatible with local is left out and reported in refused.
func View(local Tags, nodes []Node) (members []ring.Member, refused []Refused) {
	for _, n := range nodes {
		if n.Status == StatusLeft {
			continue
		}
		t, err := DecodeTags(n.Tags)
		if err == nil {
			err = Compatible(local, t, n.Name)
		}
		if err != nil {
			refused = append(refused, Refused{Name: n.Name, Err: fmt.Errorf("node %q: %w", n.Name, err)})
			continue
		}
		m := ring.Member{Name: n.Name, Weight: t.Weight, Zone: t.Zone, State: ring.Up}
		switch {
		case n.Status == StatusLeaving || t.Leaving:
			m.State = ring.Leaving
		case n.Status == StatusFailed:
			m.State = ring.Down
		}
		members = append(members, m)
	}
	return members, refused
}
