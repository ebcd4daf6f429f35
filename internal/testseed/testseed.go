package testseed

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// New returns a generator seeded by Seed, and the seed.
func New(tb testing.TB) (*rand.Rand, uint64) {
	tb.Helper()
	seed := Seed(tb)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed
}

// Seed returns DYNAMO_SEED, or a seed from the clock when it is unset, logs
// it, and names it again if the test fails, so that any failure can be
// replayed.
func Seed(tb testing.TB) uint64 {
	tb.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("DYNAMO_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			tb.Fatalf("DYNAMO_SEED=%q is not an unsigned integer: %v", s, err)
		}
		seed = v
	}
	tb.Logf("seed %d (replay with DYNAMO_SEED=%d)", seed, seed)
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("FAILED with seed %d: replay with DYNAMO_SEED=%d go test -run '%s'", seed, seed, tb.Name())
		}
	})
	return seed
}
