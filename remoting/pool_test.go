package remoting

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// The pool runs what it is given, on its workers, and Stop ends them all;
// after Stop, work still runs, on goroutines of its own.
func TestWorkerPoolStopsItsWorkers(t *testing.T) {
	before := runtime.NumGoroutine()
	p := NewWorkerPool()
	var ran atomic.Int64
	done := make(chan struct{}, 100)
	for range 100 {
		p.Schedule(func() { ran.Add(1); done <- struct{}{} })
	}
	for range 100 {
		<-done
	}
	// 64 workers at least (earlier tests' goroutines may still be ending,
	// so before is not subtracted).
	if during := runtime.NumGoroutine(); during < 64 {
		t.Fatalf("%d goroutines while running, %d before: no workers?", during, before)
	}
	p.Stop()
	p.Stop() // idempotent
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Stop, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Schedule(func() { ran.Add(1); done <- struct{}{} })
	<-done
	if ran.Load() != 101 {
		t.Fatalf("ran %d of 101", ran.Load())
	}
	// A pool stopped before it started starts nothing.
	q := NewWorkerPool()
	q.Stop()
	q.Schedule(func() { done <- struct{}{} })
	<-done
}
