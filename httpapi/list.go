package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/request"
)

// Listing limits: keys per GET /kv (default and most).
const (
	listDefault = 1000
	listMax     = 10_000
)

// listJSON is GET /kv's answer: the keys (base64, as values are) and the
// cursor to resume after the last of them ("" once the listing is
// complete).
type listJSON struct {
	Keys   [][]byte `json:"keys"`
	Cursor string   `json:"cursor"`
}

// list is GET /kv?prefix=&limit=&cursor=: a page of the keys that hold a
// value, partition by partition, each partition read through the router
// from its first up primary (ListKeysRequest).
func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, invalid("query", fmt.Sprintf("malformed query string: %v", err)))
		return
	}
	limit, prefix, cursor := listDefault, "", ""
	for name, vals := range q {
		v := vals[len(vals)-1]
		switch name {
		case "prefix":
			prefix = v
		case "cursor":
			cursor = v
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > listMax {
				writeError(w, http.StatusBadRequest, invalid("limit", fmt.Sprintf("limit=%q is not an integer from 1 to %d", v, listMax)))
				return
			}
			limit = n
		default:
			writeError(w, http.StatusBadRequest, invalid(name, fmt.Sprintf("unknown query parameter %q (allowed: prefix, limit, cursor)", name)))
			return
		}
	}
	p, after, err := request.DecodeCursor(cursor)
	if err != nil {
		writeError(w, http.StatusBadRequest, invalid("cursor", err.Error()))
		return
	}
	reply, e := h.ask(r, &messages.MembersRequest{}, params{})
	if e == nil {
		if m, ok := reply.(*messages.MembersReply); !ok {
			e = unexpected(reply)
		} else if q := int(m.GetPartitions()); int(p) >= q {
			e = invalid("cursor", fmt.Sprintf("%v: partition %d is not below Q=%d", request.ErrBadCursor, p, q))
		} else {
			e = h.listFrom(w, r, q, p, after, []byte(prefix), limit)
		}
	}
	if e != nil {
		writeError(w, 0, e)
	}
}

// listFrom lists up to limit keys from partition p after key after, of a
// ring of q partitions, and writes the page.
func (h *handler) listFrom(w http.ResponseWriter, r *http.Request, q int, p uint32, after, prefix []byte, limit int) *messages.Error {
	out := listJSON{Keys: [][]byte{}}
	for int(p) < q && len(out.Keys) < limit {
		reply, e := h.ask(r, &messages.ListKeysRequest{Partition: p, After: after, Prefix: prefix, Limit: uint32(limit - len(out.Keys))}, params{})
		if e != nil {
			return e
		}
		lr, ok := reply.(*messages.ListKeysReply)
		if !ok {
			return unexpected(reply)
		}
		if e := lr.GetError(); e != nil {
			return e
		}
		out.Keys = append(out.Keys, lr.GetKeys()...)
		if lr.GetDone() {
			p, after = p+1, nil
		} else {
			after = lr.GetNext()
		}
	}
	if int(p) < q {
		out.Cursor = request.EncodeCursor(p, after)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
