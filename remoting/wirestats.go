package remoting

import (
	"context"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc/stats"
)

// WireStats counts what a System receives over remoting: the gRPC
// messages (each one protoactor batch: the messages its endpoint writer
// found queued for this destination when it sent, up to BatchSize) and the
// actor messages in them. Messages over Batches is the coalescing the
// senders achieved. Safe for concurrent use; the zero value is ready.
type WireStats struct {
	Batches  atomic.Uint64 // gRPC messages carrying a batch
	Messages atomic.Uint64 // actor messages in those batches
}

// wireStatsHandler feeds a WireStats from the gRPC server's events.
type wireStatsHandler struct{ s *WireStats }

func (h wireStatsHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return ctx
}

func (h wireStatsHandler) HandleRPC(_ context.Context, rs stats.RPCStats) {
	in, ok := rs.(*stats.InPayload)
	if !ok {
		return
	}
	m, ok := in.Payload.(*remote.RemoteMessage)
	if !ok {
		return
	}
	if b := m.GetMessageBatch(); b != nil {
		h.s.Batches.Add(1)
		h.s.Messages.Add(uint64(len(b.GetEnvelopes())))
	}
}

func (h wireStatsHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (h wireStatsHandler) HandleConn(context.Context, stats.ConnStats) {}
