package remoting

import (
	"fmt"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/version"
)

// RemoteError is an error a peer answered with. It keeps the wire error, so
// a coordinator that passes it on answers with the peer's code and field.
type RemoteError struct{ Wire *messages.Error }

func (r RemoteError) Error() string { return r.Wire.GetMessage() }

// ErrorOf is the Go error of a wire error: nil for nil, else a RemoteError.
func ErrorOf(e *messages.Error) error {
	if e == nil {
		return nil
	}
	return RemoteError{e}
}

// ReplicaRead decodes a vnode's answer to a ReplicaGetRequest for
// partition p: whether it holds the key and its version set, or the error
// it answered with (a RemoteError, its code kept). Node coordinators and
// clients that coordinate reads both use it.
func ReplicaRead(env *messages.Envelope, p uint32) (found bool, set *version.Set, err error) {
	r := env.GetReplicaGetReply()
	switch {
	case r == nil || r.GetPartition() != p:
		return false, nil, fmt.Errorf("remoting: reply is not a read of partition %d", p)
	case r.GetError() != nil:
		return false, nil, ErrorOf(r.GetError())
	case !r.GetFound():
		return false, nil, nil
	}
	set, err = version.FromProto(r.GetSet())
	return err == nil, set, err
}
