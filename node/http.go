package node

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/dynamokv/dynamo/httpapi"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"google.golang.org/protobuf/proto"
)

// askIDs numbers the requests Ask sends (the reply echoes the id).
var askIDs atomic.Uint64

// Ask sends one client request body (messages.GetRequest, PutRequest,
// DeleteRequest, MembersRequest) to this node's router, as a Go client
// connected to it would, and returns the reply body. It waits until ctx
// ends (at most a minute without a deadline).
func (n *Node) Ask(ctx context.Context, req proto.Message) (proto.Message, error) {
	return n.askRouter(ctx, n.sys.Address(), req)
}

// askRouter sends req to the router at addr (this node's, or a peer's) and
// returns the reply body, waiting until ctx ends (at most a minute without
// a deadline).
func (n *Node) askRouter(ctx context.Context, addr string, req proto.Message) (proto.Message, error) {
	wait := time.Minute
	if d, ok := ctx.Deadline(); ok {
		wait = time.Until(d)
	}
	if wait <= 0 {
		return nil, context.DeadlineExceeded
	}
	res, err := n.sys.Root().RequestFuture(actor.NewPID(addr, remoting.RouterName), messages.Wrap(askIDs.Add(1), req), wait).Result()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("node: %w", err)
	}
	env, ok := res.(*messages.Envelope)
	if !ok {
		return nil, fmt.Errorf("node: the router at %s answered %T", addr, res)
	}
	return messages.Open(env)
}

// HTTPAddr is the address the HTTP API listens on, "" when it is off.
func (n *Node) HTTPAddr() string {
	if n.http == nil {
		return ""
	}
	return n.http.Addr()
}

// startHTTP starts the HTTP API when the configuration asks for it.
func (n *Node) startHTTP() error {
	if n.cfg.HTTPAddr == "" {
		return nil
	}
	var tokens [][]byte
	if n.cfg.HTTPTokenFile != "" {
		var err error
		if tokens, err = httpapi.LoadTokens(n.cfg.HTTPTokenFile); err != nil {
			return flagErr("http-token-file", "%v", err)
		}
	}
	var err error
	n.http, err = httpapi.Start(httpapi.Config{Addr: n.cfg.HTTPAddr, Backend: n, Counters: &n.counters,
		DiskUsage: n.diskUsage, History: n.History, Inspect: n.Inspect, Ready: n.Ready, Timeout: n.cfg.Timeout, MaxValueBytes: n.cfg.limits().MaxValueBytes, MaxKeyBytes: n.cfg.limits().MaxKeyBytes, TLS: n.tls, Tokens: tokens, Logger: n.log.With("component", "http")})
	if err != nil {
		return flagErr("http-addr", "%v", err)
	}
	return nil
}

// diskUsage sums the sizes of the files of the storage directory.
func (n *Node) diskUsage() (int64, error) {
	var total int64
	err := filepath.WalkDir(filepath.Join(n.cfg.DataDir, "db"), func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // files come and go under compaction
		}
		if info, ierr := d.Info(); ierr == nil && d.Type().IsRegular() {
			total += info.Size()
		}
		return nil
	})
	return total, err
}
