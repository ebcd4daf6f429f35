package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"google.golang.org/protobuf/proto"
)

// pending is one request in flight. Early outcomes (the client closing, the
// connection dropping) are delivered on its channel: protoactor's futures
// are not safe to complete from several goroutines, so nothing but the
// reply is ever sent to the future itself.
type pending struct{ early chan any }

// resolve delivers an early outcome; the first one wins.
func (p *pending) resolve(v any) {
	select {
	case p.early <- v:
	default:
	}
}

// Early outcomes of a pending request.
type (
	abandoned struct{} // the call's context ended
	connLost  struct{} // the connection to the node dropped
	closing   struct{} // the client is closing
)

// noAnswer: the node did not answer (timeout, dead letter, connection
// refused or lost). The call moves on to the next node.
type noAnswer struct{ addr, why string }

func (e *noAnswer) Error() string { return e.addr + ": " + e.why }

// slack is how much longer than a node's deadline the client waits, so that
// the node's own TIMEOUT or QUORUM answer arrives first.
func slack(d time.Duration) time.Duration { return 100*time.Millisecond + d/4 }

// deadlines returns the deadline to send to a node and how long to wait for
// its answer, within what remains of ctx.
func deadlines(ctx context.Context, d time.Duration) (node, wait time.Duration, err error) {
	if ctx.Err() != nil {
		return 0, 0, ctxError(ctx)
	}
	node, wait = d, d+slack(d)
	if dl, ok := ctx.Deadline(); ok {
		rem := time.Until(dl)
		if rem <= 0 {
			<-ctx.Done()
			return 0, 0, ctxError(ctx)
		}
		if wait > rem {
			// Leave the node time to answer before ctx ends
			// (node + slack(node) = rem), and let ctx end the wait
			// rather than the future's own timer.
			wait = rem + 20*time.Millisecond
			node = max((rem-100*time.Millisecond)*4/5, rem/2, time.Millisecond)
		}
	}
	return node, wait, nil
}

// millis is d in whole milliseconds, rounded up, as the wire carries it.
func millis(d time.Duration) uint32 {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return uint32(min(ms, math.MaxUint32))
}

// errorOf is the error a reply body carries, if any.
func errorOf(body proto.Message) *messages.Error {
	switch b := body.(type) {
	case *messages.Error:
		return b
	case *messages.GetReply:
		return b.GetError()
	case *messages.PutReply:
		return b.GetError()
	case *messages.DeleteReply:
		return b.GetError()
	case *messages.MembersReply:
		return b.GetError()
	case *messages.GetManyReply:
		return b.GetError()
	}
	return nil
}

// do sends one request for key to the best node and fails over to the next
// ones while nodes do not answer (or answer UNAVAILABLE: a starting node).
// Any other answer, error or not, is returned with the node's address.
func (c *Client) do(ctx context.Context, op string, key []byte, d time.Duration, build func(ms uint32) proto.Message) (proto.Message, string, error) {
	if c.isClosed() {
		return nil, "", ErrClosed
	}
	cands, _ := c.view.Load().candidates(key, c.isSuspect, c.cfg.Seeds)
	var tried []string
	for i, addr := range cands {
		if i == maxAttempts {
			break
		}
		node, wait, err := deadlines(ctx, d)
		if err != nil {
			return nil, "", withTried(err, tried)
		}
		body, err := c.send(ctx, addr, build(millis(node)), wait)
		var na *noAnswer
		switch {
		case errors.As(err, &na):
			tried = append(tried, na.Error())
		case err != nil:
			return nil, addr, withTried(err, tried)
		default:
			e := errorOf(body)
			if e.GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE {
				return body, addr, nil
			}
			tried = append(tried, fmt.Sprintf("%s: %s", addr, fromWire(op, addr, e)))
		}
		c.log.Warn("node did not serve the request, trying the next", "op", op, "node", addr, "reason", tried[len(tried)-1])
		c.suspect(addr)
		c.refreshSoon()
	}
	if ctx.Err() != nil {
		return nil, "", withTried(ctxError(ctx), tried)
	}
	if len(tried) == 0 {
		return nil, "", fmt.Errorf("%w: no members known", ErrUnavailable)
	}
	return nil, "", fmt.Errorf("%w the %s (%s)", ErrUnavailable, op, strings.Join(tried, "; "))
}

// withTried adds the nodes already tried to a context error.
func withTried(err error, tried []string) error {
	if len(tried) == 0 || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return err
	}
	return fmt.Errorf("%w (after %s)", err, strings.Join(tried, "; "))
}

// send sends msg to the router of the node at addr and waits for the reply,
// at most wait. A node that does not answer gives a *noAnswer.
func (c *Client) send(ctx context.Context, addr string, msg proto.Message, wait time.Duration) (proto.Message, error) {
	connected := c.isConnected(addr)
	if !connected {
		// No connection yet: protoactor would retry a refused connection
		// for ~10 s while the request waits; a probe fails in
		// microseconds.
		if err := c.t.Probe(ctx, addr, min(wait, probeTimeout)); err != nil {
			if ctx.Err() != nil {
				return nil, ctxError(ctx)
			}
			return nil, &noAnswer{addr, "unreachable: " + err.Error()}
		}
	}
	id := c.ids.Add(1)
	replies := c.t.Request(addr, c.router, messages.Wrap(id, msg), wait)
	p := &pending{early: make(chan any, 1)}
	switch c.track(addr, p, connected) {
	case trackClosed:
		p.resolve(closing{})
	case trackLost:
		// The connection dropped between the check above and now: the
		// request went to a new connection attempt that protoactor would
		// retry for ~10 s.
		p.resolve(connLost{})
	}
	var res any
	var err error
	select {
	case r := <-replies:
		res, err = r.Env, r.Err
	case v := <-p.early:
		res = v
	case <-ctx.Done():
		res = abandoned{}
	}
	c.untrack(addr, p)
	switch {
	case errors.Is(err, remoting.ErrNoReply):
		return nil, &noAnswer{addr, fmt.Sprintf("no reply within %v", wait.Round(time.Millisecond))}
	case errors.Is(err, remoting.ErrDeadLetter):
		return nil, &noAnswer{addr, "no router there (dead letter)"}
	case err != nil:
		return nil, &noAnswer{addr, err.Error()}
	}
	switch r := res.(type) {
	case *messages.Envelope:
		if r.GetRequestId() != id {
			return nil, &ServerError{Code: messages.ErrorCode_ERROR_CODE_INTERNAL, Node: addr,
				Msg: fmt.Sprintf("reply to request %d carries request id %d", id, r.GetRequestId())}
		}
		body, err := messages.Open(r)
		if err != nil {
			return nil, &ServerError{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED, Node: addr,
				Msg: fmt.Sprintf("reply unknown to this client (node speaks protocol %d, client %d)", r.GetProtocol(), messages.ProtocolVersion)}
		}
		c.clearSuspect(addr)
		return body, nil
	case abandoned:
		return nil, ctxError(ctx)
	case closing:
		return nil, ErrClosed
	case connLost:
		return nil, &noAnswer{addr, "connection lost"}
	}
	return nil, &ServerError{Code: messages.ErrorCode_ERROR_CODE_INTERNAL, Node: addr, Msg: fmt.Sprintf("unexpected reply %T", res)}
}

type trackResult int

const (
	tracked trackResult = iota
	trackClosed
	trackLost
)

// track registers a pending request, unless the client is closed or the
// connection it was sent on (connected) has dropped since.
func (c *Client) track(addr string, p *pending, connected bool) trackResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return trackClosed
	}
	if connected && !c.connected[addr] {
		return trackLost
	}
	fs := c.inflight[addr]
	if fs == nil {
		fs = map[*pending]struct{}{}
		c.inflight[addr] = fs
	}
	fs[p] = struct{}{}
	return tracked
}

func (c *Client) untrack(addr string, p *pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fs := c.inflight[addr]; fs != nil {
		delete(fs, p)
		if len(fs) == 0 {
			delete(c.inflight, addr)
		}
	}
}

func (c *Client) isConnected(addr string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected[addr]
}

func (c *Client) isSuspect(addr string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.suspects[addr]
	if ok && time.Now().After(until) {
		delete(c.suspects, addr)
		return false
	}
	return ok
}

func (c *Client) suspect(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.suspects[addr] = time.Now().Add(suspectFor)
}

func (c *Client) clearSuspect(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.suspects, addr)
}

// onConnection follows the client's outbound connections (Transport.Watch).
// A dropped connection makes its node suspect at once and fails over the
// requests waiting on it.
func (c *Client) onConnection(addr string, up bool) {
	c.mu.Lock()
	if up {
		c.connected[addr] = true
		c.mu.Unlock()
		return
	}
	delete(c.connected, addr)
	c.suspects[addr] = time.Now().Add(suspectFor)
	var waiting []*pending
	for p := range c.inflight[addr] {
		waiting = append(waiting, p)
	}
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return
	}
	for _, p := range waiting {
		p.resolve(connLost{})
	}
	c.log.Info("connection to node lost", "node", addr)
	c.refreshSoon()
}

// fetch reads the membership from the first of addrs that answers with a
// usable one.
func (c *Client) fetch(ctx context.Context, addrs []string) (*view, error) {
	var tried []string
	for _, addr := range addrs {
		_, wait, err := deadlines(ctx, c.cfg.Timeout)
		if err != nil {
			return nil, fmt.Errorf("%w (membership; tried %s): %w", ErrUnavailable, triedList(tried), ctx.Err())
		}
		body, err := c.send(ctx, addr, &messages.MembersRequest{}, wait)
		if err != nil {
			var na *noAnswer
			switch {
			case errors.As(err, &na):
				c.suspect(addr)
			case errors.Is(err, ErrClosed):
				return nil, err
			case ctx.Err() != nil:
				return nil, fmt.Errorf("%w (membership; tried %s): %w", ErrUnavailable, triedList(append(tried, addr+": no reply")), ctx.Err())
			}
			tried = append(tried, err.Error())
			continue
		}
		r, err := expect[*messages.MembersReply]("members", addr, body)
		if err == nil && r.GetError() != nil {
			err = fromWire("members", addr, r.GetError())
		}
		var m *Membership
		if err == nil {
			m, err = membershipFrom(addr, r)
		}
		var v *view
		if err == nil {
			v, err = newView(m)
		}
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", addr, err))
			continue
		}
		return v, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w (membership; tried %s): %w", ErrUnavailable, triedList(tried), ctx.Err())
	}
	return nil, fmt.Errorf("%w (membership; tried %s)", ErrUnavailable, triedList(tried))
}

func triedList(tried []string) string {
	if len(tried) == 0 {
		return "none"
	}
	return strings.Join(tried, "; ")
}

// refreshOrder lists where to read the membership: the Up members not
// suspected, starting from a different one each time (a node cut off from
// the others keeps a stale view), then the rest and the seeds.
func (c *Client) refreshOrder() []string {
	cands, good := c.view.Load().candidates(nil, c.isSuspect, c.cfg.Seeds)
	if good > 1 {
		k := int(c.rotate.Add(1) % uint64(good))
		rot := append(append([]string(nil), cands[k:good]...), cands[:k]...)
		copy(cands, rot)
	}
	return cands
}

// install makes v the routing view.
func (c *Client) install(v *view) {
	old := c.view.Swap(v)
	if old == nil || !sameMembers(old.m, v.m) {
		c.log.Info("membership changed", "from", v.m.Addr, "members", len(v.m.Members))
	}
}

func sameMembers(a, b *Membership) bool {
	if len(a.Members) != len(b.Members) || a.Partitions != b.Partitions || a.N != b.N {
		return false
	}
	for i := range a.Members {
		if a.Members[i] != b.Members[i] {
			return false
		}
	}
	return true
}

// refreshSoon asks the refresher for a membership read.
func (c *Client) refreshSoon() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// refresher re-reads the membership every RefreshInterval and after
// failovers, until Close.
func (c *Client) refresher() {
	defer c.wg.Done()
	var tick <-chan time.Time
	if c.cfg.RefreshInterval > 0 {
		t := time.NewTicker(c.cfg.RefreshInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-c.bg.Done():
			return
		case <-tick:
		case <-c.kick:
		}
		ctx, cancel := context.WithTimeout(c.bg, 2*(c.cfg.Timeout+slack(c.cfg.Timeout)))
		v, err := c.fetch(ctx, c.refreshOrder())
		cancel()
		if err != nil {
			if c.bg.Err() == nil {
				c.log.Warn("membership refresh failed", "err", err)
			}
		} else {
			c.install(v)
		}
		select {
		case <-c.bg.Done():
			return
		case <-time.After(minRefreshGap):
		}
	}
}
