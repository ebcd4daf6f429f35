package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/request"
	"google.golang.org/protobuf/proto"
)

// Tuning.
const (
	// suspectFor is how long a node that did not answer is skipped.
	suspectFor = 3 * time.Second
	// maxAttempts bounds the nodes one call tries.
	maxAttempts = 6
	// probeTimeout bounds the TCP probe of a node the client has no
	// connection to.
	probeTimeout = time.Second
	// minRefreshGap spaces membership reads triggered by failovers.
	minRefreshGap = 200 * time.Millisecond
	// queueSize is the client's remote endpoint queue, in messages.
	queueSize = 4096
)

// Client talks to a dynamo cluster. It is safe for concurrent use.
type Client struct {
	cfg    Config
	log    *slog.Logger
	t      remoting.Transport
	router string // the router's actor id on every node
	ids    atomic.Uint64
	// coordinatedReads counts the gets this client decided itself
	// (Config.CoordinateReads).
	coordinatedReads atomic.Uint64
	view             atomic.Pointer[view]
	rotate           atomic.Uint64
	bg               context.Context // canceled by Close
	cancel           context.CancelFunc
	kick             chan struct{}
	wg               sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	suspects  map[string]time.Time             // addr -> until
	connected map[string]bool                  // addrs with a live outbound connection
	inflight  map[string]map[*pending]struct{} // addr -> pending requests
}

// Object is what a Get returns.
type Object struct {
	// Key is the key read (the caller's slice).
	Key []byte
	// Found is false when the key is absent, deleted or expired.
	Found bool
	// Values are every concurrent value (siblings); more than one means
	// concurrent writes the application should merge.
	Values [][]byte
	// Expires are when Values expire (by the clock of the node that
	// coordinated each write), aligned with Values; the zero Time for a
	// value written without a time to live. nil when none expires.
	Expires []time.Time
	// Context is the causal context covering Values, set even when not
	// found. Pass it to the Put or Delete that follows the read.
	Context Context
}

// objectOf is the Object of a node's read reply.
func objectOf(key []byte, r *messages.GetReply) *Object {
	return &Object{Key: key, Found: r.GetFound(), Values: r.GetValues(), Expires: expiries(r.GetExpiresAtNs()), Context: ContextFromBytes(r.GetContext())}
}

// expiries converts a reply's expiries (Unix ns, 0 never); nil stays nil.
func expiries(ns []int64) []time.Time {
	if len(ns) == 0 {
		return nil
	}
	out := make([]time.Time, len(ns))
	for i, e := range ns {
		if e != 0 {
			out[i] = time.Unix(0, e)
		}
	}
	return out
}

// New starts the client's actor system on cfg.ListenAddr and reads the
// membership from the first seed that answers. When none answers, the error
// matches ErrUnavailable and names every seed tried and why.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	tr := cfg.Transport
	if tr == nil {
		sys, err := remoting.StartSystem(remoting.SystemConfig{Addr: cfg.ListenAddr, Advertise: cfg.Advertise, QueueSize: queueSize,
			TLS: cfg.TLS, Logger: cfg.Logger.With("component", "protoactor")})
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		tr = remoting.NewTransport(sys)
	}
	c := &Client{
		cfg: cfg, log: cfg.Logger, t: tr, router: remoting.RouterName,
		kick:      make(chan struct{}, 1),
		suspects:  map[string]time.Time{},
		connected: map[string]bool{},
		inflight:  map[string]map[*pending]struct{}{},
	}
	c.bg, c.cancel = context.WithCancel(context.Background())
	tr.Watch(c.onConnection)
	v, err := c.fetch(ctx, cfg.Seeds)
	if err != nil {
		c.cancel()
		tr.Close()
		return nil, err
	}
	c.view.Store(v)
	c.log.Info("dynamo client ready", "addr", tr.Addr(), "members", len(v.m.Members), "from", v.m.Addr)
	c.wg.Add(1)
	go c.refresher()
	return c, nil
}

// Addr is the client's own remoting address (what nodes reply to).
func (c *Client) Addr() string { return c.t.Addr() }

// Close stops the client: calls in flight return ErrClosed, and so do all
// later calls. It is safe to call more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	var waiting []*pending
	for _, fs := range c.inflight {
		for p := range fs {
			waiting = append(waiting, p)
		}
	}
	c.mu.Unlock()
	c.cancel()
	for _, p := range waiting {
		p.resolve(closing{})
	}
	c.wg.Wait()
	c.t.Close()
	return nil
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Get reads key. Options: R, Timeout, LWW.
func (c *Client) Get(ctx context.Context, key []byte, opts ...Option) (*Object, error) {
	o, err := c.options(request.OpGet, key, opts)
	if err != nil {
		return nil, err
	}
	if c.cfg.CoordinateReads {
		if obj, ok, err := c.coordinatedGet(ctx, key, o); ok {
			return obj, err
		}
	}
	body, node, err := c.do(ctx, "get", key, o.timeout, func(ms uint32) proto.Message {
		return &messages.GetRequest{Key: key, R: uint32(o.r), TimeoutMs: ms, Mode: o.mode()}
	})
	if err != nil {
		return nil, err
	}
	r, err := expect[*messages.GetReply]("get", node, body)
	if err != nil {
		return nil, err
	}
	if e := r.GetError(); e != nil {
		return nil, fromWire("get", node, e)
	}
	return objectOf(key, r), nil
}

// Put writes value under key with the context of an earlier read or write
// of the key (the zero Context for a blind write, which becomes a sibling of
// whatever the key holds) and returns the context of the version written.
// Options: W, Timeout, LWW, IfAbsent, TTL.
//
// A put whose node does not answer is sent to the next node; if the first
// one had in fact applied it, the key holds the value twice as siblings.
func (c *Client) Put(ctx context.Context, key, value []byte, vctx Context, opts ...Option) (Context, error) {
	o, err := c.options(request.OpPut, key, opts)
	if err != nil {
		return Context{}, err
	}
	body, node, err := c.do(ctx, "put", key, o.timeout, func(ms uint32) proto.Message {
		return &messages.PutRequest{Key: key, Value: value, Context: vctx.b, W: uint32(o.w), TimeoutMs: ms, Mode: o.mode(), IfAbsent: o.ifAbsent, TtlMs: o.ttlMs()}
	})
	if err != nil {
		return Context{}, err
	}
	return putResult(node, body, o)
}

// putResult is the context a node's answer to a put carries, or its error.
func putResult(node string, body proto.Message, o options) (Context, error) {
	r, err := expect[*messages.PutReply]("put", node, body)
	if err != nil {
		return Context{}, err
	}
	if e := r.GetError(); e != nil {
		return Context{}, fromWire("put", node, e)
	}
	o.report(r)
	return ContextFromBytes(r.GetContext()), nil
}

// Delete writes a tombstone for key with the context of an earlier read.
// Options: W, Timeout.
func (c *Client) Delete(ctx context.Context, key []byte, vctx Context, opts ...Option) error {
	o, err := c.options(request.OpDelete, key, opts)
	if err != nil {
		return err
	}
	body, node, err := c.do(ctx, "delete", key, o.timeout, func(ms uint32) proto.Message {
		return &messages.DeleteRequest{Key: key, Context: vctx.b, W: uint32(o.w), TimeoutMs: ms}
	})
	if err != nil {
		return err
	}
	r, err := expect[*messages.DeleteReply]("delete", node, body)
	if err != nil {
		return err
	}
	if e := r.GetError(); e != nil {
		return fromWire("delete", node, e)
	}
	return nil
}

// Update reads key, calls merge with its siblings (nil when not found), and
// writes the result with the read's context, so the write supersedes every
// sibling merged. It returns the new context. Options apply to both the read
// (R, Timeout, LWW) and the write (W, Timeout, LWW, TTL).
func (c *Client) Update(ctx context.Context, key []byte, merge func(siblings [][]byte) []byte, opts ...Option) (Context, error) {
	if merge == nil {
		return Context{}, invalidf("merge", "merge function is nil")
	}
	// Check the write's options too before reading.
	if _, err := c.options(request.OpPut, key, opts); err != nil {
		return Context{}, err
	}
	obj, err := c.Get(ctx, key, opts...)
	if err != nil {
		return Context{}, err
	}
	var siblings [][]byte
	if obj.Found {
		siblings = obj.Values
	}
	return c.Put(ctx, key, merge(siblings), obj.Context, opts...)
}

// Members reads the membership afresh from a node (Up members first, then
// the seeds) and makes it the client's routing view.
func (c *Client) Members(ctx context.Context) (*Membership, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	v, err := c.fetch(ctx, c.refreshOrder())
	if err != nil {
		return nil, err
	}
	c.install(v)
	m := *v.m
	m.Members = append([]Member(nil), v.m.Members...)
	return &m, nil
}

// options applies opts and checks the request locally (request.Limits.Check
// with the cluster's N, the same check and words as the nodes'): nothing is
// sent when it is wrong.
func (c *Client) options(op request.Op, key []byte, opts []Option) (options, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	q := o.w
	if op == request.OpGet {
		q = o.r
	}
	r := request.Request{Op: op, Key: key, Quorum: q, Timeout: o.timeout}
	if o.ttl != nil && op == request.OpPut {
		r.TTL = *o.ttl // other calls ignore it, as a get ignores W
	}
	if e := (request.Limits{}).Check(r, c.view.Load().m.N); e != nil {
		return o, fromWire(op.String(), "", e)
	}
	if o.timeout == 0 {
		o.timeout = c.cfg.Timeout
	}
	return o, nil
}

// expect checks that a node answered op with a T (or an Error).
func expect[T proto.Message](op, node string, body proto.Message) (T, error) {
	var zero T
	switch b := body.(type) {
	case T:
		return b, nil
	case *messages.Error:
		return zero, fromWire(op, node, b)
	}
	return zero, &ServerError{Code: messages.ErrorCode_ERROR_CODE_INTERNAL, Node: node,
		Msg: fmt.Sprintf("node answered a %s with %s", op, body.ProtoReflect().Descriptor().Name())}
}

// ctxError is the error of a call whose context ended.
func ctxError(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("client: %w", err)
}
