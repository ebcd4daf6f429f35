package client

import (
	"bytes"
	"errors"
	"testing"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/remoting"
	"github.com/dynamokv/dynamo/ring"
)

// An export page that any up primary fails to answer fails the export: a
// replica that does not answer may hold the only copy of a version, and a
// backup must be whole.
func TestExportFailsWhenAReplicaFails(t *testing.T) {
	cl := startCluster(t, 3, 3)
	key := cl.keyWithPrimary(t, "n1")
	kp := ring.PartitionOf(ring.HashKey([]byte(key)), 64)
	for _, n := range cl.nodes {
		for p := uint32(0); p < 64; p++ {
			cl.net.Serve(n.addr(), remoting.VnodeName(p), func(env *messages.Envelope, reply func(*messages.Envelope)) {
				if env.GetExport() == nil {
					return
				}
				r := &messages.ExportReply{Partition: p, Node: n.name, Done: true}
				if n.name == "n1" && p == kp {
					r = &messages.ExportReply{Partition: p, Node: n.name, Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_STORAGE, Message: "storage I/O error"}}
				}
				reply(messages.Wrap(env.GetRequestId(), r))
			})
		}
	}
	c := cl.newClient(t, cl.nodes[0].addr())
	var buf bytes.Buffer
	if _, err := c.Export(bg(t), &buf, nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("an export with a failing replica: %v, want ErrUnavailable", err)
	}
}
