package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/dynamokv/dynamo/client"
)

// Histogram range: microseconds, 1 µs to 60 s, 3 significant digits.
const (
	histMin    = 1
	histMax    = 60_000_000
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// errKind classifies a failed operation.
type errKind int

const (
	errQuorum errKind = iota
	errTimeout
	errUnavailable
	errOther
	numErrKinds
)

var errKindNames = [numErrKinds]string{"quorum", "timeout", "unavailable", "other"}

func classify(err error) errKind {
	switch {
	case errors.Is(err, client.ErrQuorum):
		return errQuorum
	case errors.Is(err, client.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return errTimeout
	case errors.Is(err, client.ErrUnavailable):
		return errUnavailable
	}
	return errOther
}

// opStats records one operation kind: latencies of successful operations
// and errors by kind. It is safe for concurrent use.
type opStats struct {
	mu       sync.Mutex
	hist     *hdrhistogram.Histogram
	errs     [numErrKinds]int64
	notFound int64
	lastErr  error
	ok       atomic.Int64 // also in hist; read without the lock by the progress line
	failed   atomic.Int64
}

func newOpStats() *opStats { return &opStats{hist: newHist()} }

func (s *opStats) record(d time.Duration, err error, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs[classify(err)]++
		s.lastErr = err
		s.failed.Add(1)
		return
	}
	us := d.Microseconds()
	if us < histMin {
		us = histMin
	}
	if us > histMax {
		us = histMax
	}
	_ = s.hist.RecordValue(us)
	if !found {
		s.notFound++
	}
	s.ok.Add(1)
}

// snapshot copies the histogram and counters.
func (s *opStats) snapshot() (*hdrhistogram.Histogram, [numErrKinds]int64, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hist.Clone(), s.errs, s.notFound, s.lastErr
}

// opResult is one row of the results: the table's and the JSON's.
type opResult struct {
	Op       string           `json:"op"`
	Count    int64            `json:"count"` // successful operations
	Errors   int64            `json:"errors"`
	ByKind   map[string]int64 `json:"errors_by_kind"`
	NotFound int64            `json:"not_found,omitempty"` // successful reads of an absent key
	OpsPerS  float64          `json:"ops_per_sec"`
	MeanMs   float64          `json:"mean_ms"`
	P50Ms    float64          `json:"p50_ms"`
	P95Ms    float64          `json:"p95_ms"`
	P99Ms    float64          `json:"p99_ms"`
	P999Ms   float64          `json:"p999_ms"`
	MaxMs    float64          `json:"max_ms"`
	LastErr  string           `json:"last_error,omitempty"`
}

// summarize turns a histogram of microseconds and error counts into a
// result row; throughput is successful operations over elapsed.
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

func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if x >= 0 {
		return float64(int64(x*p+0.5)) / p
	}
	return -float64(int64(-x*p+0.5)) / p
}

// fmtMs formats milliseconds with 3 decimals below 10 ms, 2 below 1 s, and
// 1 above.
func fmtMs(ms float64) string {
	switch {
	case ms < 10:
		return fmt.Sprintf("%.3f", ms)
	case ms < 1000:
		return fmt.Sprintf("%.2f", ms)
	}
	return fmt.Sprintf("%.1f", ms)
}

// printTable writes the results table: one row per operation kind, then a
// total row when there are several.
func printTable(w io.Writer, rows []opResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tcount\terrors\tops/s\tp50 ms\tp95 ms\tp99 ms\tp99.9 ms\tmax ms\t")
	for _, r := range rows {
		lat := []string{"-", "-", "-", "-", "-"}
		if r.Count > 0 {
			lat = []string{fmtMs(r.P50Ms), fmtMs(r.P95Ms), fmtMs(r.P99Ms), fmtMs(r.P999Ms), fmtMs(r.MaxMs)}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t\n", r.Op, r.Count, r.Errors, r.OpsPerS, strings.Join(lat, "\t"))
	}
	tw.Flush()
	for _, r := range rows {
		if r.Errors == 0 {
			continue
		}
		fmt.Fprintf(w, "%s errors:", r.Op)
		for _, k := range errKindNames {
			fmt.Fprintf(w, " %s %d", k, r.ByKind[k])
		}
		if r.LastErr != "" {
			fmt.Fprintf(w, " (last: %s)", r.LastErr)
		}
		fmt.Fprintln(w)
	}
}

// recorder holds the stats of every operation kind of a run.
type recorder struct {
	ops   []opKind
	stats [numOps]*opStats
}

func newRecorder(ops []opKind) *recorder {
	r := &recorder{ops: ops}
	for _, k := range ops {
		r.stats[k] = newOpStats()
	}
	return r
}

// totals are the counts so far over every operation kind, for the progress
// line.
func (r *recorder) totals() (ok, failed int64) {
	for _, k := range r.ops {
		ok += r.stats[k].ok.Load()
		failed += r.stats[k].failed.Load()
	}
	return ok, failed
}

// merged is one histogram of every operation kind's latencies so far.
func (r *recorder) merged() *hdrhistogram.Histogram {
	h := newHist()
	for _, k := range r.ops {
		s := r.stats[k]
		s.mu.Lock()
		h.Merge(s.hist)
		s.mu.Unlock()
	}
	return h
}

// results are the rows of the run: one per operation kind, plus "total"
// when there are several.
func (r *recorder) results(elapsed time.Duration) []opResult {
	var rows []opResult
	total := newHist()
	var totalErrs [numErrKinds]int64
	var totalNF int64
	for _, k := range r.ops {
		h, errs, nf, last := r.stats[k].snapshot()
		row := summarize(k.String(), h, errs, nf, elapsed)
		if last != nil {
			row.LastErr = last.Error()
		}
		rows = append(rows, row)
		total.Merge(h)
		for i, n := range errs {
			totalErrs[i] += n
		}
		totalNF += nf
	}
	if len(r.ops) > 1 {
		rows = append(rows, summarize("total", total, totalErrs, totalNF, elapsed))
	}
	return rows
}

// progressLine is the live status: elapsed, throughput over the last
// interval, errors and p99 so far.
func progressLine(elapsed time.Duration, rate float64, errs int64, p99us int64) string {
	return fmt.Sprintf("\r%6.0fs  %8.0f ops/s  errors %d  p99 %s ms   ", elapsed.Seconds(), rate, errs, fmtMs(float64(p99us)/1000))
}
