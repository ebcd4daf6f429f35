package client

import (
	"context"
	"sync"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/request"
	"google.golang.org/protobuf/proto"
)

// MaxGetMany is the most keys one GetMany reads.
const MaxGetMany = request.MaxGetManyKeys

// GetResult is one key's outcome in a GetMany: its Object, or the error
// its read ended with (the errors Get returns).
type GetResult struct {
	Object *Object
	Err    error
}

// GetMany reads keys, at most MaxGetMany per call, and returns their
// results in the same order. Options: R, Timeout, LWW, as Get. Keys are
// grouped by the node Get would send each to (its first up primary), and
// each group travels as one GetManyRequest, so a call costs one round
// trip per node, not per key; the node reads each key as a Get would, all
// at once. A node that does not answer has its group sent to the next
// node, as Get does. A key's own failure (quorum, timeout, a bad key) is
// in its GetResult; the error is for the call as a whole (more than
// MaxGetMany keys or none, a closed client). Config.CoordinateReads does
// not apply: the nodes coordinate.
func (c *Client) GetMany(ctx context.Context, keys [][]byte, opts ...Option) ([]GetResult, error) {
	if e := request.CheckMany(len(keys)); e != nil {
		return nil, fromWire("get", "", e)
	}
	if c.isClosed() {
		return nil, ErrClosed
	}
	out := make([]GetResult, len(keys))
	var o options
	groups := map[string][]int{} // first candidate node -> key indices
	var order []string
	v := c.view.Load()
	for i, key := range keys {
		ko, err := c.options(request.OpGet, key, opts)
		if err != nil {
			out[i].Err = err
			continue
		}
		o = ko
		cands, _ := v.candidates(key, c.isSuspect, c.cfg.Seeds)
		first := ""
		if len(cands) > 0 {
			first = cands[0]
		}
		if _, ok := groups[first]; !ok {
			order = append(order, first)
		}
		groups[first] = append(groups[first], i)
	}
	var wg sync.WaitGroup
	for _, node := range order {
		idx := groups[node]
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.getGroup(ctx, keys, idx, o, out)
		}()
	}
	wg.Wait()
	return out, nil
}

// getGroup reads keys[idx] in one GetManyRequest and fills out[idx].
func (c *Client) getGroup(ctx context.Context, keys [][]byte, idx []int, o options, out []GetResult) {
	group := make([][]byte, len(idx))
	for j, i := range idx {
		group[j] = keys[i]
	}
	fail := func(err error) {
		for _, i := range idx {
			out[i].Err = err
		}
	}
	body, node, err := c.do(ctx, "get", group[0], o.timeout, func(ms uint32) proto.Message {
		return &messages.GetManyRequest{Keys: group, R: uint32(o.r), TimeoutMs: ms, Mode: o.mode()}
	})
	if err != nil {
		fail(err)
		return
	}
	r, err := expect[*messages.GetManyReply]("get", node, body)
	if err != nil {
		fail(err)
		return
	}
	if e := r.GetError(); e != nil {
		fail(fromWire("get", node, e))
		return
	}
	if len(r.GetReplies()) != len(idx) {
		fail(&ServerError{Code: messages.ErrorCode_ERROR_CODE_INTERNAL, Node: node, Msg: "the node answered a different number of keys"})
		return
	}
	for j, i := range idx {
		gr := r.GetReplies()[j]
		if e := gr.GetError(); e != nil {
			out[i].Err = fromWire("get", node, e)
			continue
		}
		out[i].Object = objectOf(keys[i], gr)
	}
}
