package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/request"
)

// PutVia is Put sent to the member named node, and to no other: no
// failover. The node coordinates the write (its dot goes into the version)
// when it is an up primary of the key, as every node is in a cluster of N
// nodes; otherwise it forwards the write to the key's first up primary, as
// it does for any client. Options: W, Timeout, LWW.
//
// Put picks the key's first up primary and fails over; PutVia is for
// teaching, tests and tools that must say where a write goes: replaying
// concurrent writes through chosen coordinators (examples/cart), or
// writing through a node under inspection. When node does not answer, the
// error matches ErrUnavailable; an unknown name is an *InvalidError naming
// "node".
func (c *Client) PutVia(ctx context.Context, node string, key, value []byte, vctx Context, opts ...Option) (Context, error) {
	o, err := c.options(request.OpPut, key, opts)
	if err != nil {
		return Context{}, err
	}
	if node == "" {
		return Context{}, invalidf("node", "node must not be empty")
	}
	addr, err := c.addrOf(ctx, node)
	if err != nil {
		return Context{}, err
	}
	ms, wait, err := deadlines(ctx, o.timeout)
	if err != nil {
		return Context{}, err
	}
	body, err := c.send(ctx, addr, &messages.PutRequest{Key: key, Value: value, Context: vctx.b, W: uint32(o.w), TimeoutMs: millis(ms), Mode: o.mode(), IfAbsent: o.ifAbsent, TtlMs: o.ttlMs()}, wait)
	var na *noAnswer
	switch {
	case errors.As(err, &na):
		return Context{}, fmt.Errorf("%w: put via %s: %w", ErrUnavailable, node, err)
	case err != nil:
		return Context{}, err
	}
	return putResult(addr, body, o)
}
