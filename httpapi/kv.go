package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/request"
	"github.com/dynamokv/dynamo/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

const (
	kvPrefix = "/kv/"
	// ContextHeader carries a causal context, standard base64.
	ContextHeader = "X-Dynamo-Context"
	// askMargin is how long past the request deadline the server waits
	// for the node's own answer (which reports the timeout itself).
	askMargin = time.Second
)

// getJSON is GET /kv/{key} with Accept: application/json, and the body of
// a 300 answer (values only).
type getJSON struct {
	Key    string   `json:"key,omitempty"`
	Found  *bool    `json:"found,omitempty"`
	Values [][]byte `json:"values"`
	// Expires are when values expire (RFC 3339), aligned with values; ""
	// for a value that never does. Absent when none expires.
	Expires []string `json:"expires,omitempty"`
	Context string   `json:"context,omitempty"`
}

// ExpiresHeader carries when the one value of a 200 read expires (RFC 3339
// with milliseconds, by the writing node's clock); absent when it never
// does.
const ExpiresHeader = "X-Dynamo-Expires"

// expiryTexts formats a reply's expiries: nil when none expires.
func expiryTexts(ns []int64) []string {
	var out []string
	for _, e := range ns {
		out = append(out, status.TimeText(e))
	}
	return out
}

// params are a request's query parameters.
type params struct {
	quorum  uint32
	timeout time.Duration
	ttl     *uint64 // a put's ?ttl=, in ms; nil when unset
}

func (h *handler) kv(w http.ResponseWriter, r *http.Request) {
	key, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), kvPrefix))
	if err != nil {
		writeError(w, http.StatusBadRequest, &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Field: "key",
			Message: fmt.Sprintf("key is not a valid path-escaped string: %v", err)})
		return
	}
	if key == "" {
		if r.Method == http.MethodGet {
			h.list(w, r) // GET /kv/?prefix=&limit=&cursor=
			return
		}
		writeError(w, http.StatusBadRequest, invalid("key", "key must not be empty: use /kv/{key}"))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.get(w, r, []byte(key))
	case http.MethodPut:
		h.put(w, r, []byte(key))
	case http.MethodDelete:
		h.delete(w, r, []byte(key))
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, DELETE")
		writeError(w, http.StatusMethodNotAllowed, invalid("method", fmt.Sprintf("%s is not allowed on /kv/{key}: use GET, PUT or DELETE", r.Method)))
	}
}

// parseParams reads the quorum parameter qname ("r" or "w"), timeout, and
// with ttl a put's ttl; any other parameter is refused, so a typo is not
// silently ignored.
func (h *handler) parseParams(r *http.Request, qname string, ttl bool) (params, *messages.Error) {
	var p params
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return p, invalid("query", fmt.Sprintf("malformed query string: %v", err))
	}
	for name, vals := range q {
		v := vals[len(vals)-1]
		switch name {
		case qname:
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				return p, invalid(qname, fmt.Sprintf("%s=%q is not a positive integer", qname, v))
			}
			p.quorum = uint32(n)
		case "timeout":
			d, err := parseTimeout(v)
			if err != nil {
				return p, invalid("timeout", err.Error())
			}
			if e := request.CheckTimeout(d); e != nil {
				return p, e
			}
			p.timeout = d
		case "ttl":
			if !ttl {
				return p, invalid(name, fmt.Sprintf("only a PUT takes a ttl (allowed here: %s, timeout)", qname))
			}
			d, err := parseTTL(v)
			if err != nil {
				return p, invalid("ttl", err.Error())
			}
			if e := request.CheckTTL(d); e != nil {
				return p, e
			}
			ms := uint64(d / time.Millisecond)
			p.ttl = &ms
		default:
			allowed := qname + ", timeout"
			if ttl {
				allowed += ", ttl"
			}
			return p, invalid(name, fmt.Sprintf("unknown query parameter %q (allowed: %s)", name, allowed))
		}
	}
	return p, nil
}

// parseTimeout accepts a Go duration ("250ms", "2s") or whole milliseconds.
func parseTimeout(v string) (time.Duration, error) {
	if ms, err := strconv.ParseUint(v, 10, 32); err == nil && ms > 0 {
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Millisecond {
		return 0, fmt.Errorf("timeout=%q is not a duration of at least 1ms (\"250ms\", \"2s\") or whole milliseconds", v)
	}
	return d, nil
}

// parseTTL accepts a Go duration ("30s", "24h") or whole seconds; 0 never
// expires. CheckTTL checks the result.
func parseTTL(v string) (time.Duration, error) {
	if s, err := strconv.ParseUint(v, 10, 64); err == nil {
		if s > uint64(request.MaxTTL/time.Second) {
			return request.MaxTTL + time.Second, nil // refused, naming the limit
		}
		return time.Duration(s) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("ttl=%q is not a duration (\"30s\", \"24h\", at most %v) or whole seconds: %v", v, request.MaxTTL, err)
	}
	return d, nil
}

func (p params) timeoutMs() uint32 { return uint32(p.timeout / time.Millisecond) }

// ask sends req and waits for the node's answer a little past the
// request's deadline.
func (h *handler) ask(r *http.Request, req proto.Message, p params) (proto.Message, *messages.Error) {
	d := p.timeout
	if d == 0 {
		d = h.cfg.Timeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), d+askMargin)
	defer cancel()
	reply, err := h.cfg.Backend.Ask(ctx, req)
	if err != nil {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return nil, &messages.Error{Code: messages.ErrorCode_ERROR_CODE_TIMEOUT, Message: "the HTTP client went away"}
		}
		return nil, &messages.Error{Code: messages.ErrorCode_ERROR_CODE_TIMEOUT, Message: fmt.Sprintf("no answer from the node within %s: %v", d+askMargin, err)}
	}
	return reply, nil
}

func readContext(r *http.Request) ([]byte, *messages.Error) {
	v := r.Header.Get(ContextHeader)
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, &messages.Error{Code: messages.ErrorCode_ERROR_CODE_BAD_CONTEXT, Field: ContextHeader,
			Message: fmt.Sprintf("%s is not standard base64: %v", ContextHeader, err)}
	}
	return b, nil
}

func (h *handler) get(w http.ResponseWriter, r *http.Request, key []byte) {
	p, e := h.parseParams(r, "r", false)
	if e != nil {
		writeError(w, 0, e)
		return
	}
	g, e := h.read(r, key, p)
	if e != nil {
		writeError(w, 0, e)
		return
	}
	if len(g.GetContext()) > 0 {
		w.Header().Set(ContextHeader, base64.StdEncoding.EncodeToString(g.GetContext()))
	}
	values := g.GetValues()
	if values == nil {
		values = [][]byte{}
	}
	if wantsJSON(r) {
		found := g.GetFound()
		doc := getJSON{Key: string(key), Found: &found, Values: values, Expires: expiryTexts(g.GetExpiresAtNs())}
		if len(g.GetContext()) > 0 {
			doc.Context = base64.StdEncoding.EncodeToString(g.GetContext())
		}
		writeJSON(w, http.StatusOK, doc)
		return
	}
	switch {
	case !g.GetFound():
		writeError(w, http.StatusNotFound, &messages.Error{Message: fmt.Sprintf("key %q not found", key)})
	case len(values) == 1:
		if ex := expiryTexts(g.GetExpiresAtNs()); len(ex) == 1 && ex[0] != "" {
			w.Header().Set(ExpiresHeader, ex[0])
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(values[0])))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(values[0])
		}
	default:
		writeJSON(w, http.StatusMultipleChoices, getJSON{Values: values, Expires: expiryTexts(g.GetExpiresAtNs())})
	}
}

// writeArgs reads a write's query parameters (with ttl a put's) and causal
// context.
func (h *handler) writeArgs(r *http.Request, ttl bool) (params, []byte, *messages.Error) {
	p, e := h.parseParams(r, "w", ttl)
	if e != nil {
		return p, nil, e
	}
	vctx, e := readContext(r)
	return p, vctx, e
}

func (h *handler) put(w http.ResponseWriter, r *http.Request, key []byte) {
	p, vctx, e := h.writeArgs(r, true)
	if e != nil {
		writeError(w, 0, e)
		return
	}
	if r.ContentLength > int64(h.cfg.MaxValueBytes) {
		writeError(w, 0, request.TooLarge("value", int(min(r.ContentLength, math.MaxInt)), h.cfg.MaxValueBytes))
		return
	}
	value, err := io.ReadAll(io.LimitReader(r.Body, int64(h.cfg.MaxValueBytes)+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, invalid("body", fmt.Sprintf("reading the value: %v", err)))
		return
	}
	if len(value) > h.cfg.MaxValueBytes {
		writeError(w, 0, request.TooLarge("value", -1, h.cfg.MaxValueBytes))
		return
	}
	ifAbsent := false
	if inm := r.Header.Values("If-None-Match"); len(inm) > 0 {
		if len(inm) != 1 || strings.TrimSpace(inm[0]) != "*" {
			writeError(w, http.StatusBadRequest, invalid("If-None-Match", fmt.Sprintf("only \"*\" (write if the key holds no value) is supported, got %q", strings.Join(inm, ", "))))
			return
		}
		ifAbsent = true
	}
	h.write(w, r, &messages.PutRequest{Key: key, Value: value, Context: vctx, W: p.quorum, TimeoutMs: p.timeoutMs(), IfAbsent: ifAbsent, TtlMs: p.ttl}, p)
}

// delete deletes what the context covers; without a context it reads the
// key first (at the same quorum) and deletes what that read saw, as the
// CLI does: a delete without a context would hide nothing.
func (h *handler) delete(w http.ResponseWriter, r *http.Request, key []byte) {
	p, vctx, e := h.writeArgs(r, false)
	if e != nil {
		writeError(w, 0, e)
		return
	}
	if vctx == nil {
		g, e := h.read(r, key, p)
		switch {
		case e != nil:
			writeError(w, 0, e)
			return
		case !g.GetFound():
			writeError(w, http.StatusNotFound, &messages.Error{Message: fmt.Sprintf("key %q not found", key)})
			return
		}
		vctx = g.GetContext()
	}
	h.write(w, r, &messages.DeleteRequest{Key: key, Context: vctx, W: p.quorum, TimeoutMs: p.timeoutMs()}, p)
}

// read asks the node for key at quorum p.quorum: the reply, or the error
// to answer with.
func (h *handler) read(r *http.Request, key []byte, p params) (*messages.GetReply, *messages.Error) {
	reply, e := h.ask(r, &messages.GetRequest{Key: key, R: p.quorum, TimeoutMs: p.timeoutMs()}, p)
	if e != nil {
		return nil, e
	}
	g, ok := reply.(*messages.GetReply)
	if !ok {
		return nil, unexpected(reply)
	}
	if g.GetError() != nil {
		return nil, g.GetError()
	}
	return g, nil
}

// write sends a put or delete and answers 204 (with a put's returned
// context: the version written and what the request's context covered,
// version.WriterContext) or the error.
func (h *handler) write(w http.ResponseWriter, r *http.Request, req proto.Message, p params) {
	reply, e := h.ask(r, req, p)
	if e == nil {
		switch rep := reply.(type) {
		case *messages.PutReply:
			if e = rep.GetError(); e == nil {
				w.Header().Set(ContextHeader, base64.StdEncoding.EncodeToString(rep.GetContext()))
			}
		case *messages.DeleteReply:
			e = rep.GetError()
		default:
			e = unexpected(reply)
		}
	}
	if e != nil {
		writeError(w, 0, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(mt, "application/json") {
			return true
		}
	}
	return false
}

// invalid is request.Invalid: an INVALID_ARGUMENT error naming field.
var invalid = request.Invalid

func unexpected(reply proto.Message) *messages.Error {
	name := protoreflect.FullName("nothing")
	if reply != nil {
		name = reply.ProtoReflect().Descriptor().FullName()
	}
	return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INTERNAL, Message: fmt.Sprintf("unexpected reply %s from the node", name)}
}

// errorJSON is every error's body.
type errorJSON struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
	Field string `json:"field,omitempty"`
	Need  uint64 `json:"need,omitempty"`
	Got   uint64 `json:"got,omitempty"`
}

// StatusOf is the HTTP status of an error code.
func StatusOf(code messages.ErrorCode) int {
	switch code {
	case messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, messages.ErrorCode_ERROR_CODE_BAD_CONTEXT:
		return http.StatusBadRequest
	case messages.ErrorCode_ERROR_CODE_TOO_LARGE:
		return http.StatusRequestEntityTooLarge
	case messages.ErrorCode_ERROR_CODE_QUORUM, messages.ErrorCode_ERROR_CODE_UNAVAILABLE:
		return http.StatusServiceUnavailable
	case messages.ErrorCode_ERROR_CODE_TIMEOUT:
		return http.StatusGatewayTimeout
	case messages.ErrorCode_ERROR_CODE_TOO_MANY_SIBLINGS:
		return http.StatusConflict
	case messages.ErrorCode_ERROR_CODE_EXISTS:
		return http.StatusPreconditionFailed
	case messages.ErrorCode_ERROR_CODE_STORAGE:
		return http.StatusInsufficientStorage
	case messages.ErrorCode_ERROR_CODE_UNSUPPORTED:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// writeError writes e as JSON with status (0: the status of e's code).
func writeError(w http.ResponseWriter, status int, e *messages.Error) {
	if status == 0 {
		status = StatusOf(e.GetCode())
	}
	body := errorJSON{Error: e.GetMessage(), Field: e.GetField(), Need: e.GetNeed(), Got: e.GetGot()}
	if e.GetCode() != messages.ErrorCode_ERROR_CODE_UNSPECIFIED {
		body.Code = e.GetCode().Slug()
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}
