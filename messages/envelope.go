package messages

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ProtocolVersion is the inter-node protocol this build speaks. It travels in
// serf tags and in every Envelope. Version 1 is the first release.
const ProtocolVersion uint32 = 1

// ErrUnknownBody is returned by Open for an envelope whose body this build
// does not know (sent by a newer node) or that has no body at all.
var ErrUnknownBody = errors.New("messages: envelope body unknown to this node")

// bodyFields returns the Envelope's oneof and maps each message type that
// can travel in it to its field (computed once, after the generated code's
// init has registered the descriptors).
var bodyFields = sync.OnceValues(func() (protoreflect.OneofDescriptor, map[protoreflect.FullName]protoreflect.FieldDescriptor) {
	body := (&Envelope{}).ProtoReflect().Descriptor().Oneofs().ByName("body")
	m := map[protoreflect.FullName]protoreflect.FieldDescriptor{}
	for i := range body.Fields().Len() {
		fd := body.Fields().Get(i)
		m[fd.Message().FullName()] = fd
	}
	return body, m
})

// Wrap puts a message into an Envelope for requestID. It panics only on a
// programming error: a message type that has no oneof case.
func Wrap(requestID uint64, m proto.Message) *Envelope {
	env := &Envelope{Protocol: ProtocolVersion, RequestId: requestID}
	_, fields := bodyFields()
	fd, ok := fields[m.ProtoReflect().Descriptor().FullName()]
	if !ok {
		panic(fmt.Sprintf("messages: %T cannot travel in an Envelope", m))
	}
	env.ProtoReflect().Set(fd, protoreflect.ValueOfMessage(m.ProtoReflect()))
	return env
}

// Open returns the message inside env, or ErrUnknownBody when env is nil,
// has no body, or carries a body this build does not know.
func Open(env *Envelope) (proto.Message, error) {
	if env == nil {
		return nil, fmt.Errorf("%w: nil envelope", ErrUnknownBody)
	}
	r := env.ProtoReflect()
	body, _ := bodyFields()
	if fd := r.WhichOneof(body); fd != nil {
		return r.Get(fd).Message().Interface(), nil
	}
	return nil, fmt.Errorf("%w (protocol %d, request %d)", ErrUnknownBody, env.GetProtocol(), env.GetRequestId())
}

// Unsupported is the reply to an envelope that Open could not open.
func Unsupported(env *Envelope) *Envelope {
	return Wrap(env.GetRequestId(), &Error{
		Code:    ErrorCode_ERROR_CODE_UNSUPPORTED,
		Message: fmt.Sprintf("protocol %d does not know this request (sender speaks %d)", ProtocolVersion, env.GetProtocol()),
	})
}

// Slug is the code's short name for metrics labels and JSON:
// "too_many_siblings" for ERROR_CODE_TOO_MANY_SIBLINGS.
func (c ErrorCode) Slug() string {
	return strings.ToLower(strings.TrimPrefix(c.String(), "ERROR_CODE_"))
}
