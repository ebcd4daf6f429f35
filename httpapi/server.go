package httpapi

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/dynamokv/dynamo/actors"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/request"
	"github.com/dynamokv/dynamo/status"
	"google.golang.org/protobuf/proto"
)

// ErrInvalid marks a bad Config.
var ErrInvalid = errors.New("httpapi: invalid config")

// Backend carries requests to the node.
type Backend interface {
	// Ask sends one client request body (messages.GetRequest,
	// PutRequest, DeleteRequest or MembersRequest) to the node's router
	// and returns the reply body. It returns an error when no reply came
	// before ctx ended.
	Ask(ctx context.Context, req proto.Message) (proto.Message, error)
}

// Config configures a Server.
type Config struct {
	// Addr is the listening host:port. Port 0 picks a free port. Default
	// 127.0.0.1:8080.
	Addr string
	// Backend answers the requests. Required.
	Backend Backend
	// Counters are the node's counters, for /metrics and /status. Optional.
	Counters *actors.Counters
	// DiskUsage returns the bytes the node's storage takes on disk, for
	// /metrics. Optional.
	DiskUsage func() (int64, error)
	// History returns the node's samples for GET /status/history, and
	// Inspect reads a key's replica on each of its owners for GET
	// /inspect?key=. Optional: without them those paths answer 404.
	History func() status.HistoryDoc
	// Ready says whether the node is ready for traffic, for GET /ready
	// (nil: ready), which answers without authentication so that an
	// orchestrator's probes reach it. Optional: without it /ready answers
	// 200 once the server runs.
	Ready   func(ctx context.Context) error
	Inspect func(ctx context.Context, key []byte) (status.Inspection, error)
	// MaxValueBytes bounds a PUT body; a larger one is refused with 413
	// before it is read whole, and before anything is sent to a replica.
	// Default request.DefaultMaxValueBytes (1 MiB); the node passes its
	// router's limit. ?timeout= is bounded by request.MaxTimeout.
	MaxValueBytes int
	// MaxKeyBytes bounds the key of GET /inspect (the other paths' keys are
	// checked by the node's router). Default request.DefaultMaxKeyBytes.
	MaxKeyBytes int
	// Timeout is the deadline of a request that names none. Default 1 s.
	Timeout time.Duration
	// TLS, when set, serves HTTPS with TLS.Certificates; a client
	// certificate that verifies against TLS.ClientCAs authenticates the
	// request (certs.MutualTLS gives the cluster's; the server asks for a
	// client certificate but does not require one, so token clients work).
	// Default nil: plain HTTP.
	TLS *tls.Config
	// Tokens are the bearer tokens that authenticate a request
	// (Authorization: Bearer <token>). When Tokens or TLS is set, every
	// request needs a token or a verified client certificate; others get
	// 401 and nothing is read or written. Default none: open (loopback
	// quick start).
	Tokens [][]byte
	// Logger receives one line per server event. Default: discard.
	Logger *slog.Logger
}

// DefaultAddr is Config.Addr's default.
const DefaultAddr = "127.0.0.1:8080"

func (c Config) normalize() (Config, error) {
	if c.Backend == nil {
		return c, fmt.Errorf("%w: Backend is required", ErrInvalid)
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return c, fmt.Errorf("%w: Addr %q: %v", ErrInvalid, c.Addr, err)
	}
	if c.MaxKeyBytes <= 0 {
		c.MaxKeyBytes = request.DefaultMaxKeyBytes
	}
	if c.MaxValueBytes <= 0 {
		c.MaxValueBytes = request.DefaultMaxValueBytes
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

//go:embed web
var webFiles embed.FS

// Server is a running HTTP API.
type Server struct {
	cfg  Config
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// Handler returns the API's handler, without listening (for tests and for
// embedding in another server).
func Handler(cfg Config) (http.Handler, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	return newHandler(cfg), nil
}

func newHandler(cfg Config) http.Handler {
	h := &handler{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", h.metrics)
	mux.HandleFunc("GET /status", h.status)
	mux.HandleFunc("GET /status/history", h.history)
	mux.HandleFunc("GET /inspect", h.inspect)
	// Go's profiler, for finding where a node's time goes (behind the same
	// authentication as everything else here).
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	web, _ := fs.Sub(webFiles, "web")
	files := http.FileServerFS(web)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		// Only the embedded files: anything else (including names the
		// file server would call invalid, a 500) is a plain 404.
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name != "" {
			if _, err := fs.Stat(web, name); err != nil || !fs.ValidPath(name) {
				writeError(w, http.StatusNotFound, &messages.Error{Message: fmt.Sprintf("no page %q: the status page is at /", r.URL.Path)})
				return
			}
		}
		files.ServeHTTP(w, r)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ready" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			h.ready(w, r) // probes carry no credentials; it reveals nothing
			return
		}
		if !h.authenticated(r) {
			refuse(w)
			return
		}
		// /kv/ is dispatched before the mux, which would clean the path
		// and redirect keys holding "//" or "..".
		if r.URL.EscapedPath() == "/kv" && r.Method == http.MethodGet {
			h.list(w, r)
			return
		}
		if strings.HasPrefix(r.URL.EscapedPath(), kvPrefix) {
			h.kv(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Start listens on cfg.Addr and serves until Close.
func Start(cfg Config) (*Server, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("httpapi: listening on %s: %w", cfg.Addr, err)
	}
	if cfg.TLS != nil {
		tc := cfg.TLS.Clone()
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		tc.NextProtos = []string{"http/1.1"}
		ln = tls.NewListener(ln, tc)
	}
	s := &Server{cfg: cfg, ln: ln, done: make(chan struct{}),
		srv: &http.Server{Handler: newHandler(cfg), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("http server stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server: requests in progress get up to 2 s to finish.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	<-s.done
	return err
}

type handler struct{ cfg Config }
