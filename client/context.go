package client

import (
	"encoding/base64"
	"fmt"
)

// Context is the causal context of a key: what a Get returns with the
// values it read (Object.Context) and what a Put returns for the version it
// wrote. Pass it to the next Put or Delete of the same key, so the write
// supersedes exactly the versions the context covers. It is opaque, and its
// own type so that it cannot be swapped with a key or a value.
//
// The zero Context is a blind write: it supersedes nothing, and the value
// becomes a sibling of whatever the key holds. To carry a context outside
// the process (a CLI argument, an HTTP header, a form field), use String
// and ParseContext (standard base64, as the CLI and the HTTP API's
// X-Dynamo-Context header use), or Bytes and ContextFromBytes.
type Context struct{ b []byte }

// ContextFromBytes is the context whose encoding is b (as Bytes returned
// it). The node checks it: a malformed or forged context is refused with an
// *InvalidError naming "context".
func ContextFromBytes(b []byte) Context {
	if len(b) == 0 {
		return Context{}
	}
	return Context{b: b}
}

// ParseContext decodes a context from String's form (standard base64). The
// empty string is the zero Context.
func ParseContext(s string) (Context, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return Context{}, invalidf("context", "context is not base64: %v", err)
	}
	return ContextFromBytes(b), nil
}

// Bytes is the context's encoding, nil for the zero Context. The caller
// must not modify it.
func (c Context) Bytes() []byte { return c.b }

// String is the context in standard base64, "" for the zero Context.
func (c Context) String() string { return base64.StdEncoding.EncodeToString(c.b) }

// IsZero reports whether c is the zero Context (a blind write).
func (c Context) IsZero() bool { return len(c.b) == 0 }

// GoString keeps contexts readable in %#v output.
func (c Context) GoString() string { return fmt.Sprintf("client.Context(%q)", c.String()) }
