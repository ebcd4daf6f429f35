package testbin

import (
	"testing"

	"github.com/dynamokv/dynamo/internal/freeport"
)

// FreeRun returns the first of n consecutive loopback ports free for TCP
// and UDP (for commands that number their ports from a first one, like
// `dynamo dev`), below the ephemeral range (package freeport).
func FreeRun(t testing.TB, n int) int {
	t.Helper()
	port, err := freeport.Run(n)
	if err != nil {
		t.Fatal(err)
	}
	return port
}
