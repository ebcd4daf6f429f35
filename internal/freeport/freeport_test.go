package freeport

import (
	"sync"
	"testing"
)

// Runs handed out in one process never overlap, even when asked for
// concurrently, and each port is free when returned.
func TestRunsNeverOverlap(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				base, err := Run(3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for p := base; p < base+3; p++ {
					if seen[p] {
						t.Errorf("port %d handed out twice", p)
					}
					seen[p] = true
					if p < lowest || p >= highest {
						t.Errorf("port %d outside [%d, %d)", p, lowest, highest)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
