package client

import (
	"bytes"
	"errors"
	"testing"
)

func TestContextRoundTrips(t *testing.T) {
	var zero Context
	if !zero.IsZero() || zero.String() != "" || zero.Bytes() != nil {
		t.Fatalf("zero context: %q %q", zero.String(), zero.Bytes())
	}
	if p, err := ParseContext(""); err != nil || !p.IsZero() || p.Bytes() != nil {
		t.Fatalf(`ParseContext(""): %v %v`, p, err)
	}
	if c := ContextFromBytes([]byte{}); !c.IsZero() || c.Bytes() != nil {
		t.Fatalf("empty bytes: %#v", c)
	}
	raw := []byte{2, 0, 0xff, 'a'}
	c := ContextFromBytes(raw)
	if c.IsZero() || !bytes.Equal(c.Bytes(), raw) {
		t.Fatalf("ContextFromBytes: %v", c.Bytes())
	}
	p, err := ParseContext(c.String())
	if err != nil || !bytes.Equal(p.Bytes(), raw) {
		t.Fatalf("ParseContext(String()) = %v, %v", p.Bytes(), err)
	}
	_, err = ParseContext("not base64!")
	var inv *InvalidError
	if !errors.As(err, &inv) || inv.Field != "context" || !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad base64: %v", err)
	}
}
