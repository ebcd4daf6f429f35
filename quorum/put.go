package quorum

// PutConfig configures a PutCore.
type PutConfig struct {
	// N is the replication factor and W the write quorum: 1 <= W <= N <= MaxN.
	N, W int
	// Replicas are the nodes asked, in preference-list order: primaries and
	// fallbacks. They must be distinct and at least W.
	Replicas []Node
	// Fallbacks maps each replica in Replicas that stands in for a down
	// primary to the primary it holds a hint for. A fallback's ack counts
	// toward W (sloppy quorum) and is counted in PutResult.Hinted. Each fallback must be in
	// Replicas, and its primary must not be (the fallback replaces it) nor be
	// covered by another fallback: W counts distinct logical replicas.
	Fallbacks map[Node]Node
}

// PutResult is the answer of a successful write, fixed when the core decided.
type PutResult struct {
	// Acked is how many replicas had acked; Hinted how many of them were
	// fallbacks. Acked-Hinted primaries acked.
	Acked, Hinted int
	// Asked is len(Replicas).
	Asked int
}

// PutCore decides a write from the acks of the replicas asked. See the
// package documentation for the rules. It is not safe for concurrent use.
type PutCore struct {
	cfg      PutConfig
	index    map[Node]int
	fallback []bool // per replica

	kinds []ReplyKind // per replica; 0 while outstanding
	errs  []error

	acked, hinted, failed, timedOut, replied int

	decided bool
	result  PutResult
	err     error
}

// NewPutCore validates cfg and returns a core waiting for acks. The core keeps
// no reference to cfg.Replicas or cfg.Fallbacks.
func NewPutCore(cfg PutConfig) (*PutCore, error) {
	if err := validateN(cfg.N); err != nil {
		return nil, err
	}
	if err := validateQuorum("w", cfg.W, cfg.N); err != nil {
		return nil, err
	}
	index, err := validateReplicas(cfg.Replicas, "w", cfg.W)
	if err != nil {
		return nil, err
	}
	fallback := make([]bool, len(cfg.Replicas))
	covered := make(map[Node]Node, len(cfg.Fallbacks)) // primary -> fallback
	for fb, primary := range cfg.Fallbacks {
		i, ok := index[fb]
		if !ok {
			return nil, invalidf("fallback %q is not among the replicas asked", fb)
		}
		if primary == "" {
			return nil, invalidf("fallback %q has an empty primary", fb)
		}
		if _, asked := index[primary]; asked {
			return nil, invalidf("fallback %q stands in for %q, which is also asked", fb, primary)
		}
		if other, dup := covered[primary]; dup {
			a, b := min(fb, other), max(fb, other) // deterministic message
			return nil, invalidf("fallbacks %q and %q both stand in for %q", a, b, primary)
		}
		covered[primary] = fb
		fallback[i] = true
	}
	cfg.Replicas = append([]Node(nil), cfg.Replicas...)
	cfg.Fallbacks = nil // summarised in fallback
	return &PutCore{
		cfg:      cfg,
		index:    index,
		fallback: fallback,
		kinds:    make([]ReplyKind, len(cfg.Replicas)),
		errs:     make([]error, len(cfg.Replicas)),
	}, nil
}

// Add records the reply of node: Acked, Failed with the replica's error err,
// or TimedOut. It returns an error wrapping ErrUnknownNode for a node that was
// not asked, ErrDuplicate for a node that already has a reply (including one
// marked TimedOut by Timeout), and ErrInvalid for another kind; the core is
// then unchanged. After the core has decided, replies are still recorded but
// do not change the answer.
func (c *PutCore) Add(node Node, kind ReplyKind, err error) error {
	i, ok := c.index[node]
	if !ok {
		return unknownNode(node)
	}
	switch kind {
	case Acked, Failed, TimedOut:
	default:
		return invalidf("reply kind %v from %s is not a write reply", kind, node)
	}
	if prev := c.kinds[i]; prev != 0 {
		return duplicate(node, prev)
	}
	c.record(i, kind, err)
	c.decide()
	return nil
}

func (c *PutCore) record(i int, kind ReplyKind, err error) {
	c.kinds[i] = kind
	c.replied++
	switch kind {
	case Acked:
		c.acked++
		if c.fallback[i] {
			c.hinted++
		}
		return
	case Failed:
		c.failed++
	case TimedOut:
		c.timedOut++
	}
	c.errs[i] = err
}

// Timeout marks every replica that has not replied as TimedOut. The core is
// then Done, and decided.
func (c *PutCore) Timeout() {
	for i, k := range c.kinds {
		if k == 0 {
			c.record(i, TimedOut, nil)
		}
	}
	c.decide()
}

func (c *PutCore) decide() {
	if c.decided {
		return
	}
	asked := len(c.cfg.Replicas)
	switch {
	case c.acked >= c.cfg.W:
		c.decided = true
		c.result = PutResult{Acked: c.acked, Hinted: c.hinted, Asked: asked}
	case asked-c.failed-c.timedOut < c.cfg.W:
		c.decided = true
		c.err = &Error{
			Op:       OpWrite,
			Kind:     KindQuorum,
			Need:     c.cfg.W,
			Got:      c.acked,
			Asked:    asked,
			Failed:   c.failed,
			TimedOut: c.timedOut,
			Causes:   causes(c.cfg.Replicas, c.kinds, c.errs, nil),
		}
	}
}

// Enough reports whether the answer is decided: W acks, or W can no longer
// be reached.
func (c *PutCore) Enough() bool { return c.decided }

// Result returns the answer fixed when the core decided: a PutResult, or a
// *Error wrapping ErrQuorum (Kind KindQuorum). Before the core has decided it returns ErrPending.
func (c *PutCore) Result() (PutResult, error) {
	if !c.decided {
		return PutResult{}, ErrPending
	}
	return c.result, c.err
}

// Done reports whether every replica asked has replied or timed out.
func (c *PutCore) Done() bool { return c.replied == len(c.kinds) }

// Kind returns node's reply: 0 while it has not replied, and 0 for a node
// that was not asked.
func (c *PutCore) Kind(node Node) ReplyKind {
	if i, ok := c.index[node]; ok {
		return c.kinds[i]
	}
	return 0
}
