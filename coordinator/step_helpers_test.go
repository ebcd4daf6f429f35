package coordinator

import "github.com/dynamokv/dynamo/version"

// The helpers below feed one event through Step and return the parts of
// its Ready a test looks at.

func newGet(route Route, key []byte, opts GetOptions) (*Get, []Read, error) {
	g, r, err := NewGet(route, key, opts)
	return g, r.Reads, err
}

func getReply(g *Get, node string, found bool, set *version.Set, err error) (*GetAnswer, []Repair) {
	r := g.Step(GetReplied{Node: node, Found: found, Set: set, Err: err})
	return r.Answer, r.Repairs
}

func getDeadline(g *Get) (*GetAnswer, []Repair) {
	r := g.Step(GetDeadline{})
	return r.Answer, r.Repairs
}

func (g *Get) done() bool { return g.state == GetFinished }

func putPrepared(p *Put, set *version.Set, dot version.Dot) []Replicate {
	return p.Step(PutPrepared{Set: set, Dot: dot}).Replicate
}

func putCoordinated(p *Put, err error) *PutAnswer {
	return p.Step(PutCoordinated{Err: err}).Answer
}

func putReply(p *Put, node string, err error) (*PutAnswer, []Replicate) {
	r := p.Step(PutReplied{Node: node, Err: err})
	return r.Answer, r.Replicate
}

func putDeadline(p *Put) (*PutAnswer, []Replicate) {
	r := p.Step(PutDeadline{})
	return r.Answer, r.Replicate
}

func (p *Put) done() bool { return p.state == PutFinished }
