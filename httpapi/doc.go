// Package httpapi is a node's HTTP face: the key-value API for services
// that do not use the Go client, Prometheus metrics, the status document
// and the status web page.
//
//	PUT    /kv/{key}   body = value; X-Dynamo-Context; If-None-Match: *;
//	                   ?w=&timeout=&ttl=                            -> 204 | 412
//	GET    /kv/{key}   ?r=&timeout=                                   -> 200 | 300 | 404
//	DELETE /kv/{key}   X-Dynamo-Context; ?w=&timeout=                 -> 204 | 404
//	GET    /metrics    Prometheus text format 0.0.4
//	GET    /status     the status document (package status) as JSON
//	GET    /status/history  the node's samples for the page's charts
//	GET    /inspect?key=    a key's copy on each of its owners
//	GET    /ready      200 when the cluster counts the node in, else 503
//	                   (no authentication: for orchestrators' probes)
//	GET    /           the status web page (files embedded in the binary)
//	GET    /debug/pprof/  Go's profiler (net/http/pprof)
//
// Keys are the path after /kv/, percent-decoded: any byte string
// round-trips when its bytes are escaped (url.PathEscape). Contexts travel
// in X-Dynamo-Context as standard base64, as the CLI prints them.
//
// The server does not coordinate anything itself: every request becomes
// the protobuf request a Go client would send, handed to the node's own
// router through Backend, so the HTTP API has exactly the semantics,
// limits and errors of the actor API. Errors are JSON
// {"error":..,"code":..,"field":..,"need":..,"got":..} with 400 for bad
// arguments, 404 not found, 409 too many siblings, 413 too large, 503
// quorum not reached, 504 deadline, 507 storage failure.
package httpapi
