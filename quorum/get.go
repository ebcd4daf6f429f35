package quorum

// Object tells a GetCore how to handle the stored object type V.
type Object[V any] struct {
	// Merge returns the synchronisation of two version sets. It must be
	// commutative, associative and idempotent, and must not modify its
	// arguments.
	Merge func(a, b V) V
	// Descends reports whether a has seen everything in b (a >= b
	// causally).
	Descends func(a, b V) bool
}

// GetConfig configures a GetCore.
type GetConfig[V any] struct {
	// N is the replication factor and R the read quorum: 1 <= R <= N <= MaxN.
	N, R int
	// NotFoundOK makes a NotFound reply count toward R (riak's notfound_ok,
	// true by default in riak). Its Go zero value is false: a NotFound then
	// does not count, the core waits for R Found replies, and the key is
	// reported not found only when every reply it decided on was NotFound.
	NotFoundOK bool
	// BasicQuorum (riak's basic_quorum) gives up once a majority of the
	// replicas asked replied without counting toward R (NotFound when
	// NotFoundOK is false, Failed, TimedOut), rather than waiting until R is
	// out of reach. With NotFoundOK false it turns "a majority said not
	// found" into a quick not-found answer.
	BasicQuorum bool
	// Object tells the core how to merge and compare values; both functions
	// are required.
	Object Object[V]
	// Replicas are the nodes asked, in preference-list order, possibly with
	// sloppy-quorum fallbacks. They must be distinct and at least R.
	Replicas []Node
}

// GetResult is the answer of a read, fixed when the core decided.
type GetResult[V any] struct {
	// Found reports that at least one reply the core decided on was Found.
	Found bool
	// Value is the Merge of the Found replies the core decided on; the
	// zero V when !Found.
	Value V
	// Replied is how many replicas had answered Found or NotFound when the
	// core decided.
	Replied int
	// FoundReplies and NotFoundReplies split Replied by kind.
	FoundReplies, NotFoundReplies int
	// Asked is len(Replicas), less the replicas skipped (Skip).
	Asked int
}

// GetCore decides a read from the replies of the replicas asked. See the
// package documentation for the rules. It is not safe for concurrent use.
type GetCore[V any] struct {
	cfg       GetConfig[V]
	index     map[Node]int
	threshold int // uncounted replies at which the read gives up

	kinds  []ReplyKind // per replica; 0 while outstanding
	values []V
	errs   []error

	found, notFound, failed, timedOut, replied int
	skipped                                    int // replicas marked not asked (Skip)

	merged    V
	hasMerged bool

	decided bool
	result  GetResult[V]
	err     error
}

// NewGetCore validates cfg and returns a core waiting for replies. The core
// keeps no reference to cfg.Replicas.
func NewGetCore[V any](cfg GetConfig[V]) (*GetCore[V], error) {
	if err := validateN(cfg.N); err != nil {
		return nil, err
	}
	if err := validateQuorum("r", cfg.R, cfg.N); err != nil {
		return nil, err
	}
	if cfg.Object.Merge == nil {
		return nil, invalidf("Object.Merge is nil")
	}
	if cfg.Object.Descends == nil {
		return nil, invalidf("Object.Descends is nil")
	}
	index, err := validateReplicas(cfg.Replicas, "r", cfg.R)
	if err != nil {
		return nil, err
	}
	cfg.Replicas = append([]Node(nil), cfg.Replicas...)
	asked := len(cfg.Replicas)
	return &GetCore[V]{
		cfg:       cfg,
		index:     index,
		threshold: getThreshold(asked, cfg.R, cfg.BasicQuorum),
		kinds:     make([]ReplyKind, asked),
		values:    make([]V, asked),
		errs:      make([]error, asked),
	}, nil
}

// getThreshold is how many uncounted replies make a read of asked replicas
// give up. As riak_kv_get_fsm: when R can no longer be reached, or with
// basic quorum after a majority of the replicas asked did not count.
func getThreshold(asked, r int, basic bool) int {
	threshold := asked - r + 1
	if basic {
		threshold = min(threshold, asked/2+1)
	}
	return threshold
}

// Skip marks the named replicas that have not replied as not asked (names
// not listed, and replicas that replied, are ignored): a coordinator that
// asks only some replicas at first, and the others only when one of those
// fails or is slow, skips the rest once it will not ask them. From then on
// the core decides as one built over the other replicas only: a skipped
// replica neither counts toward R nor against it, is no repair target and
// no cause in an error, and a reply from it is rejected as a duplicate. A
// decision taken before Skip stands.
func (c *GetCore[V]) Skip(nodes ...Node) {
	for _, n := range nodes {
		if i, ok := c.index[n]; ok && c.kinds[i] == 0 {
			c.kinds[i] = NotAsked
			c.skipped++
			c.replied++
		}
	}
	c.threshold = getThreshold(len(c.kinds)-c.skipped, c.cfg.R, c.cfg.BasicQuorum)
	c.decide()
}

// Add records the reply of node: Found with its value v, NotFound, Failed
// with the replica's error err, or TimedOut. v is ignored unless kind is
// Found. It returns an error wrapping ErrUnknownNode for a node that was not
// asked, ErrDuplicate for a node that already has a reply (including one
// marked TimedOut by Timeout), and ErrInvalid for another kind; the core is
// then unchanged. After the core has decided, replies are still recorded for
// read repair but do not change the answer.
func (c *GetCore[V]) Add(node Node, kind ReplyKind, v V, err error) error {
	i, ok := c.index[node]
	if !ok {
		return unknownNode(node)
	}
	switch kind {
	case Found, NotFound, Failed, TimedOut:
	default:
		return invalidf("reply kind %v from %s is not a read reply", kind, node)
	}
	if prev := c.kinds[i]; prev != 0 {
		return duplicate(node, prev)
	}
	c.kinds[i] = kind
	c.replied++
	switch kind {
	case Found:
		c.found++
		c.values[i] = v
		if c.hasMerged {
			c.merged = c.cfg.Object.Merge(c.merged, v)
		} else {
			c.merged, c.hasMerged = v, true
		}
	case NotFound:
		c.notFound++
	case Failed:
		c.failed++
		c.errs[i] = err
	case TimedOut:
		c.timedOut++
		c.errs[i] = err
	}
	c.decide()
	return nil
}

// Timeout marks every replica that has not replied as TimedOut. The core is
// then Done, and decided.
func (c *GetCore[V]) Timeout() {
	for i, k := range c.kinds {
		if k == 0 {
			c.kinds[i] = TimedOut
			c.timedOut++
			c.replied++
		}
	}
	c.decide()
}

// decide fixes the answer the first time the replies allow it.
func (c *GetCore[V]) decide() {
	if c.decided {
		return
	}
	counted := c.found
	uncounted := c.failed + c.timedOut
	if c.cfg.NotFoundOK {
		counted += c.notFound
	} else {
		uncounted += c.notFound
	}
	switch {
	case counted >= c.cfg.R:
		c.succeed()
	case uncounted >= c.threshold:
		if c.notFound > 0 && len(c.kinds)-c.skipped >= c.cfg.R && c.found == 0 && c.failed == 0 && c.timedOut == 0 {
			// Every reply was NotFound (NotFoundOK is false, or the
			// counted ones would have been enough): nobody reached has
			// the key and nobody failed, so it is not found.
			c.succeed()
			return
		}
		c.fail(counted)
	}
}

func (c *GetCore[V]) succeed() {
	c.decided = true
	c.result = GetResult[V]{
		Found:           c.hasMerged,
		Replied:         c.found + c.notFound,
		FoundReplies:    c.found,
		NotFoundReplies: c.notFound,
		Asked:           len(c.cfg.Replicas) - c.skipped,
	}
	if c.hasMerged {
		c.result.Value = c.merged
	}
}

func (c *GetCore[V]) fail(counted int) {
	c.decided = true
	e := &Error{
		Op:       OpRead,
		Kind:     KindQuorum,
		Need:     c.cfg.R,
		Got:      counted,
		Asked:    len(c.cfg.Replicas) - c.skipped,
		Failed:   c.failed,
		TimedOut: c.timedOut,
		Causes:   causes(c.cfg.Replicas, c.kinds, c.errs, nil),
	}
	if !c.cfg.NotFoundOK {
		e.NotFound = c.notFound
	}
	c.err = e
}

// Enough reports whether the answer is decided: R replies counted, or R can
// no longer be reached (see the package documentation).
func (c *GetCore[V]) Enough() bool { return c.decided }

// Result returns the answer fixed when the core decided: a GetResult (Found
// false for a key not found) or a *Error wrapping ErrQuorum. Before the core
// has decided it returns ErrPending.
func (c *GetCore[V]) Result() (GetResult[V], error) {
	if !c.decided {
		return GetResult[V]{}, ErrPending
	}
	return c.result, c.err
}

// Done reports whether every replica asked has replied or timed out.
func (c *GetCore[V]) Done() bool { return c.replied == len(c.kinds) }

// Merged returns the Merge of every Found reply received so far, including
// those after the core decided, and whether there was any.
func (c *GetCore[V]) Merged() (V, bool) { return c.merged, c.hasMerged }

// RepairTargets returns the replicas that need Merged written back: those
// that answered NotFound, and those that answered Found with a value that does
// not descend Merged. Replicas that failed, timed out or have not replied are
// not included. It is nil when no replica answered Found. The order is that of
// Replicas. It is meant to be called once Done, but reflects the replies so
// far whenever it is called.
func (c *GetCore[V]) RepairTargets() []Node {
	if !c.hasMerged {
		return nil
	}
	var out []Node
	for i, k := range c.kinds {
		switch {
		case k == NotFound,
			k == Found && !c.cfg.Object.Descends(c.values[i], c.merged):
			out = append(out, c.cfg.Replicas[i])
		}
	}
	return out
}

// Kind returns node's reply: 0 while it has not replied, NotAsked once
// skipped (Skip), and 0 for a node that is not a replica.
func (c *GetCore[V]) Kind(node Node) ReplyKind {
	if i, ok := c.index[node]; ok {
		return c.kinds[i]
	}
	return 0
}
