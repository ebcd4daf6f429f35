package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/buraksezer/olric"
	"github.com/buraksezer/olric/config"
)

// The load mirrors bench/load.go and bench/workload.go of dynamo: the same
// key names, value template, per-worker random sources (so the same seed
// picks the same operations and keys), preload and histograms (1 µs to
// 60 s, 3 significant digits). Its one JSON object has the field names of
// the bench's own results.

const (
	histMin, histMax, histDigits = 1, 60_000_000, 3
	preloadWorkers               = 128
	zipfS                        = 1.01
	dmapName                     = "bench"
	// formTimeout is how long the cluster has to form: every member in
	// the routing table, each partition with one primary and its backups.
	formTimeout = 60 * time.Second
)

// Operation kinds: what each bench op name does on Olric.
type opKind int

const (
	opGet opKind = iota // a get
	opPut               // a put
	opRMW               // a get, then a put (timed as one operation)
)

var opByName = map[string]opKind{"read": opGet, "get": opGet, "update": opPut, "put": opPut, "rmw": opRMW}

type mixItem struct {
	name    string // the bench's name for it (read, update, rmw, get, put)
	op      opKind
	percent int
}

// parseMix reads "read:50,update:50".
func parseMix(s string) ([]mixItem, error) {
	var mix []mixItem
	total := 0
	for _, p := range splitList(s) {
		name, pct, ok := strings.Cut(p, ":")
		op, known := opByName[name]
		n, err := strconv.Atoi(pct)
		if !ok || !known || err != nil || n < 1 || n > 100 {
			return nil, fmt.Errorf("bad mix item %q (want name:percent, names read, update, rmw, get, put)", p)
		}
		mix = append(mix, mixItem{name, op, n})
		total += n
	}
	if total != 100 {
		return nil, fmt.Errorf("mix %q adds up to %d%%, not 100%%", s, total)
	}
	return mix, nil
}

func pick(mix []mixItem, u float64) int {
	p, acc := u*100, 0.0
	for i, m := range mix {
		acc += float64(m.percent)
		if p < acc {
			return i
		}
	}
	return len(mix) - 1
}

type loadConfig struct {
	addrs       []string
	members     int
	replicas    int
	mix         []mixItem
	keys        int
	valueSize   int
	concurrency int
	duration    time.Duration
	ops         int64
	preload     bool
	seed        uint64
	dist        string
	timeout     time.Duration
}

// Errors by kind, named as the bench's.
const (
	errQuorum = iota
	errTimeout
	errUnavailable
	errOther
	numErrKinds
)

var errKindNames = [numErrKinds]string{"quorum", "timeout", "unavailable", "other"}

func classify(err error) int {
	var ne net.Error
	switch {
	case errors.Is(err, olric.ErrWriteQuorum), errors.Is(err, olric.ErrReadQuorum):
		return errQuorum
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, olric.ErrOperationTimeout),
		errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	case errors.Is(err, olric.ErrConnRefused), errors.Is(err, olric.ErrClusterQuorum), errors.Is(err, olric.ErrServerGone):
		return errUnavailable
	}
	return errOther
}

type opStats struct {
	mu       sync.Mutex
	hist     *hdrhistogram.Histogram
	errs     [numErrKinds]int64
	notFound int64
	lastErr  error
}

func (s *opStats) record(d time.Duration, err error, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs[classify(err)]++
		s.lastErr = err
		return
	}
	us := min(max(d.Microseconds(), histMin), histMax)
	_ = s.hist.RecordValue(us)
	if !found {
		s.notFound++
	}
}

// opResult has the JSON names of the bench's opResult.
type opResult struct {
	Op       string           `json:"op"`
	Count    int64            `json:"count"`
	Errors   int64            `json:"errors"`
	ByKind   map[string]int64 `json:"errors_by_kind"`
	NotFound int64            `json:"not_found,omitempty"`
	OpsPerS  float64          `json:"ops_per_sec"`
	MeanMs   float64          `json:"mean_ms"`
	P50Ms    float64          `json:"p50_ms"`
	P95Ms    float64          `json:"p95_ms"`
	P99Ms    float64          `json:"p99_ms"`
	P999Ms   float64          `json:"p999_ms"`
	MaxMs    float64          `json:"max_ms"`
	LastErr  string           `json:"last_error,omitempty"`
}

func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

func summarize(op string, h *hdrhistogram.Histogram, errs [numErrKinds]int64, notFound int64, elapsed time.Duration) opResult {
	r := opResult{Op: op, Count: h.TotalCount(), NotFound: notFound, ByKind: map[string]int64{}}
	for k, n := range errs {
		r.ByKind[errKindNames[k]] = n
		r.Errors += n
	}
	if elapsed > 0 {
		r.OpsPerS = round(float64(r.Count)/elapsed.Seconds(), 1)
	}
	if r.Count == 0 {
		return r
	}
	ms := func(us int64) float64 { return round(float64(us)/1000, 3) }
	r.MeanMs = round(h.Mean()/1000, 3)
	r.P50Ms = ms(h.ValueAtQuantile(50))
	r.P95Ms = ms(h.ValueAtQuantile(95))
	r.P99Ms = ms(h.ValueAtQuantile(99))
	r.P999Ms = ms(h.ValueAtQuantile(99.9))
	r.MaxMs = ms(h.Max())
	return r
}

type preloadResult struct {
	Keys     int     `json:"keys"`
	Seconds  float64 `json:"seconds"`
	KeysPerS float64 `json:"keys_per_sec"`
	Errors   int64   `json:"errors"`
}

// report is the one JSON object on stdout.
type report struct {
	Version     string         `json:"version"`      // Olric's ReleaseVersion
	Module      string         `json:"module"`       // module path and version built against
	GoVersion   string         `json:"go_version"`   // of this binary
	Members     int            `json:"members"`      // in the routing table
	Partitions  int            `json:"partitions"`   // Olric's partition count
	Replicas    int            `json:"replicas"`     // owners per partition seen in the routing table
	PoolSize    int            `json:"pool_size"`    // the client's connections per member
	FormSeconds float64        `json:"form_seconds"` // waiting for the cluster to form
	Preload     *preloadResult `json:"preload,omitempty"`
	ElapsedS    float64        `json:"elapsed_s"`
	Results     []opResult     `json:"results"`
	Total       opResult       `json:"total"`
}

func runLoad(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("olric-bench load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c loadConfig
	addrs := fs.String("addrs", "", "members' host:port (Olric's protocol), comma-separated")
	fs.IntVar(&c.members, "members", 3, "members the routing table must list before the run")
	fs.IntVar(&c.replicas, "replicas", 3, "owners per partition (primary and backups) the routing table must show")
	mix := fs.String("mix", "", "operation mix, e.g. read:50,update:50 (names: read, update, rmw, get, put)")
	fs.IntVar(&c.keys, "keys", 100_000, "distinct keys")
	fs.IntVar(&c.valueSize, "value-size", 100, "value size, bytes")
	fs.IntVar(&c.concurrency, "concurrency", 50, "workers, each with one request in flight")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "length of the measured run")
	fs.Int64Var(&c.ops, "ops", 0, "stop after this many requests instead (wins over --duration)")
	fs.BoolVar(&c.preload, "preload", false, "write every key before the run (not measured)")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed of operations, keys and values")
	fs.StringVar(&c.dist, "dist", "uniform", "uniform or zipfian")
	fs.DurationVar(&c.timeout, "timeout", time.Second, "the client's read and write timeout per request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c.addrs = splitList(*addrs)
	var err error
	if c.mix, err = parseMix(*mix); err != nil {
		fmt.Fprintf(stderr, "olric-bench load: --mix: %v\n", err)
		return 2
	}
	switch {
	case len(c.addrs) == 0:
		err = errors.New("--addrs is required")
	case c.keys < 1 || c.valueSize < 1 || c.concurrency < 1:
		err = errors.New("--keys, --value-size and --concurrency must be positive")
	case c.ops == 0 && c.duration <= 0:
		err = errors.New("--duration must be positive")
	case c.dist != "uniform" && c.dist != "zipfian":
		err = fmt.Errorf("--dist must be uniform or zipfian, got %q", c.dist)
	case c.timeout <= 0:
		err = errors.New("--timeout must be positive")
	}
	if err != nil {
		fmt.Fprintf(stderr, "olric-bench load: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := load(ctx, c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "olric-bench load: %v\n", err)
		return 1
	}
	b, _ := json.Marshal(rep)
	fmt.Fprintln(stdout, string(b))
	return 0
}

func load(ctx context.Context, c loadConfig, logw io.Writer) (*report, error) {
	rep := &report{Version: olric.ReleaseVersion, Module: olricModule + " " + moduleVersion(), GoVersion: runtime.Version(), PoolSize: c.concurrency}
	ccfg := &config.Client{
		// One connection per worker to each member: a worker never
		// waits for a connection.
		PoolSize:     c.concurrency,
		ReadTimeout:  c.timeout,
		WriteTimeout: c.timeout,
		PoolTimeout:  c.timeout,
		MaxRetries:   -1, // one request per operation, as the bench's
	}
	logger := log.New(logw, "olric client: ", log.LstdFlags)
	start := time.Now()
	cl, err := formed(ctx, c, ccfg, logger, rep)
	if err != nil {
		return nil, err
	}
	defer cl.Close(context.Background())
	rep.FormSeconds = round(time.Since(start).Seconds(), 2)
	fmt.Fprintf(logw, "olric: %d members, %d partitions, %d owners each, formed in %.1f s\n", rep.Members, rep.Partitions, rep.Replicas, rep.FormSeconds)
	dm, err := cl.NewDMap(dmapName)
	if err != nil {
		return nil, err
	}
	g := newGenerator(c, dm)
	if c.preload {
		p, err := g.preloadKeys(ctx)
		if err != nil {
			return nil, err
		}
		rep.Preload = p
		fmt.Fprintf(logw, "olric: preloaded %d keys in %.1f s (%.0f keys/s, %d errors)\n", p.Keys, p.Seconds, p.KeysPerS, p.Errors)
	}
	elapsed := g.run(ctx)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	rep.ElapsedS = round(elapsed.Seconds(), 3)
	total := hdrhistogram.New(histMin, histMax, histDigits)
	var totalErrs [numErrKinds]int64
	var totalNF int64
	for i, m := range c.mix {
		s := g.stats[i]
		r := summarize(m.name, s.hist, s.errs, s.notFound, elapsed)
		if s.lastErr != nil {
			r.LastErr = s.lastErr.Error()
		}
		rep.Results = append(rep.Results, r)
		total.Merge(s.hist)
		for k, n := range s.errs {
			totalErrs[k] += n
		}
		totalNF += s.notFound
	}
	// As the bench's: "total" is the one row again for a single operation.
	rep.Total = summarize("total", total, totalErrs, totalNF, elapsed)
	if len(rep.Results) == 1 {
		rep.Total.LastErr = rep.Results[0].LastErr
	}
	return rep, nil
}

// formed waits until the cluster has formed: the routing table lists
// c.members members, each partition has exactly one primary owner and
// c.replicas-1 backups (no partition in transfer), and a probe key can be
// put and read back with the quorums. It returns a client whose routing
// table is that one.
func formed(ctx context.Context, c loadConfig, ccfg *config.Client, logger *log.Logger, rep *report) (*olric.ClusterClient, error) {
	ctx, cancel := context.WithTimeout(ctx, formTimeout)
	defer cancel()
	var cl *olric.ClusterClient
	last := "no answer"
	stable := 0
	for {
		err := func() error {
			if cl == nil {
				cc, err := olric.NewClusterClient(c.addrs, olric.WithConfig(ccfg), olric.WithLogger(logger))
				if err != nil {
					return err
				}
				cl = cc
			}
			rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
			defer rcancel()
			rt, err := cl.RoutingTable(rctx)
			if err != nil {
				return err
			}
			primaries := map[string]bool{}
			all := map[string]bool{}
			for id, r := range rt {
				if len(r.PrimaryOwners) != 1 || len(r.ReplicaOwners) != c.replicas-1 {
					return fmt.Errorf("partition %d has %d primary and %d backup owners", id, len(r.PrimaryOwners), len(r.ReplicaOwners))
				}
				primaries[r.PrimaryOwners[0]] = true
				all[r.PrimaryOwners[0]] = true
				for _, o := range r.ReplicaOwners {
					all[o] = true
				}
			}
			if len(rt) == 0 || len(all) != c.members || len(primaries) != c.members {
				return fmt.Errorf("the routing table has %d partitions on %d members (%d primaries), want %d", len(rt), len(all), len(primaries), c.members)
			}
			// The table comes from one member at a time: several answers
			// in a row before the probe.
			if stable++; stable < 2*c.members {
				return errRetry
			}
			if err := cl.RefreshMetadata(rctx); err != nil {
				return err
			}
			dm, err := cl.NewDMap(dmapName)
			if err != nil {
				return err
			}
			if err := dm.Put(rctx, "olric-bench-probe", []byte("probe")); err != nil {
				return fmt.Errorf("probe put: %w", err)
			}
			if _, err := dm.Get(rctx, "olric-bench-probe"); err != nil {
				return fmt.Errorf("probe get: %w", err)
			}
			rep.Members, rep.Partitions, rep.Replicas = len(all), len(rt), c.replicas
			return nil
		}()
		if err == nil {
			return cl, nil
		}
		if !errors.Is(err, errRetry) {
			stable = 0
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			if cl != nil {
				_ = cl.Close(context.Background())
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("the Olric cluster did not form within %v: %s", formTimeout, last)
			}
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var errRetry = errors.New("olric: retry")

type generator struct {
	c        loadConfig
	dm       olric.DMap
	keys     []string
	template []byte
	stats    []*opStats // by mix index
	issued   atomic.Int64
}

func keyName(i int) string { return fmt.Sprintf("key-%08d", i) }

// workerRand is the bench's: worker w's source for seed (w -1 makes the
// value template).
func workerRand(seed uint64, w int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(w)+1))
}

func newGenerator(c loadConfig, dm olric.DMap) *generator {
	g := &generator{c: c, dm: dm, keys: make([]string, c.keys)}
	for i := range g.keys {
		g.keys[i] = keyName(i)
	}
	r := workerRand(c.seed, -1)
	g.template = make([]byte, c.valueSize)
	for i := range g.template {
		g.template[i] = byte(r.IntN(256))
	}
	for range c.mix {
		g.stats = append(g.stats, &opStats{hist: hdrhistogram.New(histMin, histMax, histDigits)})
	}
	return g
}

// value is the template with seq in its first bytes, in buf.
func (g *generator) value(buf []byte, seq uint64) []byte {
	copy(buf, g.template)
	if len(buf) >= 8 {
		binary.LittleEndian.PutUint64(buf, seq)
	}
	return buf
}

func (g *generator) do(ctx context.Context, op opKind, k int, seq uint64, buf []byte) (found bool, err error) {
	key := g.keys[k]
	get := func() (bool, error) {
		gr, err := g.dm.Get(ctx, key)
		if errors.Is(err, olric.ErrKeyNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		_, err = gr.Byte()
		return err == nil, err
	}
	switch op {
	case opGet:
		return get()
	case opPut:
		return true, g.dm.Put(ctx, key, g.value(buf, seq))
	case opRMW:
		found, err := get()
		if err != nil {
			return false, err
		}
		return found, g.dm.Put(ctx, key, g.value(buf, seq))
	}
	return false, fmt.Errorf("unknown op %d", op)
}

// preloadKeys writes every key once (each retried twice), not measured.
func (g *generator) preloadKeys(ctx context.Context) (*preloadResult, error) {
	workers := min(max(g.c.concurrency, preloadWorkers), g.c.keys)
	var next, failed atomic.Int64
	var lastErr atomic.Pointer[error]
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, g.c.valueSize)
			for {
				k := int(next.Add(1) - 1)
				if k >= g.c.keys || ctx.Err() != nil {
					return
				}
				var err error
				for range 3 {
					if _, err = g.do(ctx, opPut, k, uint64(k), buf); err == nil || ctx.Err() != nil {
						break
					}
				}
				if err != nil && ctx.Err() == nil {
					failed.Add(1)
					lastErr.Store(&err)
				}
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("preload interrupted: %w", ctx.Err())
	}
	el := time.Since(start)
	p := &preloadResult{Keys: g.c.keys, Seconds: round(el.Seconds(), 2), KeysPerS: round(float64(g.c.keys)/el.Seconds(), 1), Errors: failed.Load()}
	if p.Errors > int64(g.c.keys)/100 {
		return nil, fmt.Errorf("preload: %d of %d keys failed (last: %v)", p.Errors, g.c.keys, *lastErr.Load())
	}
	return p, nil
}

type keyChooser func() int

func newKeyChooser(dist string, keys int, r *rand.Rand) keyChooser {
	if dist == "zipfian" {
		z := rand.NewZipf(r, zipfS, 1, uint64(keys-1))
		return func() int { return int(z.Uint64()) }
	}
	return func() int { return r.IntN(keys) }
}

// run is the measured run: c.concurrency workers, one request in flight
// each, for c.duration or until c.ops requests were issued.
func (g *generator) run(ctx context.Context) time.Duration {
	start := time.Now()
	end := start.Add(g.c.duration)
	var wg sync.WaitGroup
	for w := range g.c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := workerRand(g.c.seed, w)
			next := newKeyChooser(g.c.dist, g.c.keys, r)
			buf := make([]byte, g.c.valueSize)
			for ctx.Err() == nil {
				seq := g.issued.Add(1)
				if g.c.ops > 0 {
					if seq > g.c.ops {
						return
					}
				} else if !time.Now().Before(end) {
					return
				}
				i := pick(g.c.mix, r.Float64())
				k := next()
				t0 := time.Now()
				found, err := g.do(ctx, g.c.mix[i].op, k, uint64(seq), buf)
				d := time.Since(t0)
				if err != nil && ctx.Err() != nil {
					return
				}
				g.stats[i].record(d, err, found)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}
