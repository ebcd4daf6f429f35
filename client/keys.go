package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/request"
	"github.com/dynamokv/dynamo/ring"
	"google.golang.org/protobuf/proto"
)

// ListOptions shape a listing (Keys).
type ListOptions struct {
	// Prefix keeps the keys that start with it (nil: every key).
	Prefix []byte
	// Cursor resumes a listing where KeyIterator.Cursor said ("": from
	// the start).
	Cursor string
	// PageSize is how many keys one request to a node may bring, 1 to
	// 10,000. Default 1,000.
	PageSize int
}

// ErrBadCursor marks a ListOptions.Cursor that does not decode.
var ErrBadCursor = request.ErrBadCursor

// Keys lists the keys that hold a value (deleted keys are not listed),
// partition by partition, a page of at most PageSize keys at a time, in
// no useful order (by partition, then by a hash of the key); the iterator
// holds one page. Each page asks every up primary of the partition and
// merges their keys (request.MergePages), so a replica missing keys, such
// as a new owner before its handoff or a wiped node before anti-entropy
// refilled it, does not hide them; a key that no up primary holds (its
// only replica down) is missed. Cost: every object of the cluster is read
// once per replica, whatever the prefix (keys are spread by hash, so a
// prefix narrows nothing); each request reads at most 5,000 objects (or
// PageSize, if larger), so a listing is a stream of short requests beside
// the foreground. A key written or deleted during the listing may or may
// not appear.
func (c *Client) Keys(ctx context.Context, o ListOptions) *KeyIterator {
	it := &KeyIterator{c: c, ctx: ctx, prefix: o.Prefix, page: o.PageSize}
	if it.page == 0 {
		it.page = 1000
	}
	if it.page < 0 || it.page > 10_000 {
		it.err = &InvalidError{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Field: "page size", Msg: fmt.Sprintf("page size must be 1 to 10000, got %d", o.PageSize)}
		return it
	}
	p, after, err := request.DecodeCursor(o.Cursor)
	if err == nil && int(p) >= c.view.Load().m.Partitions {
		err = fmt.Errorf("%w: partition %d is not below Q=%d", ErrBadCursor, p, c.view.Load().m.Partitions)
	}
	if err != nil {
		it.err = err
		return it
	}
	it.p, it.after = p, after
	return it
}

// KeyIterator walks a listing. Not safe for concurrent use.
type KeyIterator struct {
	c      *Client
	ctx    context.Context
	prefix []byte
	page   int
	// p and after: where the next page starts (after: a key of p, nil:
	// its start).
	p     uint32
	after []byte
	buf   [][]byte
	// resume: the position after the last key Key returned.
	resumeP     uint32
	resumeAfter []byte
	key         []byte
	done        bool
	err         error
}

// Next advances to the next key; false at the end or on an error (Err).
func (it *KeyIterator) Next() bool {
	for len(it.buf) == 0 {
		if it.done || it.err != nil {
			return false
		}
		it.fetch()
	}
	it.key, it.buf = it.buf[0], it.buf[1:]
	it.resumeP, it.resumeAfter = it.keyPartition(it.key), it.key
	return true
}

// Key is the current key.
func (it *KeyIterator) Key() []byte { return it.key }

// Err is what ended the listing early, nil after a complete one.
func (it *KeyIterator) Err() error { return it.err }

// Cursor resumes the listing after the current key (ListOptions.Cursor);
// "" once the listing is complete.
func (it *KeyIterator) Cursor() string {
	if it.done && len(it.buf) == 0 {
		return ""
	}
	p, after := it.p, it.after
	if it.key != nil {
		p, after = it.resumeP, it.resumeAfter
	}
	return request.EncodeCursor(p, after)
}

func (it *KeyIterator) keyPartition(key []byte) uint32 {
	return ring.PartitionOf(ring.HashKey(key), int(it.c.view.Load().m.Partitions))
}

// fetch reads the next page of partition it.p from every up primary of
// it, merged (request.MergePages: a replica missing keys, such as a new
// owner before its handoff, does not hide them), moving to the next
// partition when the page reaches its end.
func (it *KeyIterator) fetch() {
	c := it.c
	if c.isClosed() {
		it.err = ErrClosed
		return
	}
	v := c.view.Load()
	if int(it.p) >= v.m.Partitions {
		it.done = true
		return
	}
	req := &messages.ListKeysRequest{Partition: it.p, After: it.after, Prefix: it.prefix, Limit: uint32(it.page)}
	pages, err := c.askPages(it.ctx, v, it.p, req, false, "list", func(env *messages.Envelope) pageReply {
		if r := env.GetListKeysReply(); r != nil {
			return r
		}
		return nil
	})
	if err != nil {
		it.err = err
		return
	}
	keys, sets, after, done := request.MergePages(v.m.Partitions, it.page, pages)
	it.buf = request.Holding(keys, sets, time.Now().UnixNano())
	if done {
		it.p, it.after = it.p+1, nil
	} else {
		it.after = after
	}
}

// pageReply is a vnode's page of a listing or an export.
type pageReply interface {
	GetItems() []*messages.KeySet
	GetNext() []byte
	GetDone() bool
	GetError() *messages.Error
}

// askPages asks every up primary of partition p for a page (body, a
// listing or export request; see askOwners for all) and returns the
// pages they gave; reply picks the page out of an envelope (nil: the
// reply is not one). op names the call in errors.
func (c *Client) askPages(ctx context.Context, v *view, p uint32, body proto.Message, all bool, op string, reply func(*messages.Envelope) pageReply) ([]request.Page, error) {
	var pages []request.Page
	err := c.askOwners(ctx, v, p, body, all, func(env *messages.Envelope, addr string) error {
		r := reply(env)
		if r == nil {
			return fmt.Errorf("the reply is not a page of the %s", op)
		}
		if e := r.GetError(); e != nil {
			return fromWire(op, addr, e)
		}
		page, err := request.ItemsPage(r.GetItems(), r.GetNext(), r.GetDone())
		if err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
		pages = append(pages, page)
		return nil
	})
	return pages, err
}

// askOwners sends body to partition p's vnode on every up primary in v,
// all at once, and hands each reply to take (on the caller's goroutine,
// one at a time; take's error counts as that replica's failure). It fails
// when no replica's reply was taken, or at once on an ErrInvalid. With
// all, it also fails when any replica asked failed, and asks the ones
// the client suspects too (an export must read every copy).
func (c *Client) askOwners(ctx context.Context, v *view, p uint32, body proto.Message, all bool, take func(env *messages.Envelope, addr string) error) error {
	_, wait, err := deadlines(ctx, c.cfg.Timeout)
	if err != nil {
		return err
	}
	type answer struct {
		name, addr string
		env        *messages.Envelope
		err        error
	}
	var asked []chan answer
	for _, name := range v.ring.Owners(p) {
		m, ok := v.byName[name]
		if !ok || m.State != ring.Up || (!all && c.isSuspect(m.Addr)) {
			continue
		}
		out := c.t.Request(m.Addr, remoting.VnodeName(p), messages.Wrap(c.ids.Add(1), body), wait)
		ch := make(chan answer, 1)
		asked = append(asked, ch)
		go func() {
			o := <-out // the transport answers within wait
			ch <- answer{name: name, addr: m.Addr, env: o.Env, err: o.Err}
		}()
	}
	var tried []string
	took := 0
	for _, ch := range asked {
		a := <-ch
		if a.err == nil {
			a.err = take(a.env, a.addr)
		}
		if a.err != nil {
			if errors.Is(a.err, ErrInvalid) {
				return a.err
			}
			tried = append(tried, fmt.Sprintf("%s: %v", a.name, a.err))
			continue
		}
		took++
	}
	if took > 0 && (!all || len(tried) == 0) {
		return nil
	}
	if ctx.Err() != nil {
		return withTried(ctxError(ctx), tried)
	}
	if took > 0 {
		return fmt.Errorf("%w: %d of %d up replicas of partition %d answered (%s)", ErrUnavailable, took, len(asked), p, strings.Join(tried, "; "))
	}
	return fmt.Errorf("%w: no replica of partition %d answered (%s)", ErrUnavailable, p, strings.Join(tried, "; "))
}
