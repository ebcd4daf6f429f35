package testbin

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// portFree reports whether port is free on loopback for TCP and UDP.
func portFree(port int) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	u.Close()
	return true
}

// FreeRun returns the first of n consecutive loopback ports free for TCP
// and UDP (for commands that number their ports from a first one, like
// `dynamo dev`). The ports are below Linux's ephemeral range (32768 and
// up), so that a test that stops a node and starts it again on the same
// ports does not find one taken by another test's port 0 in between.
func FreeRun(t testing.TB, n int) int {
	t.Helper()
	for range 500 {
		base := lowPortMin + rand.IntN(lowPortMax-lowPortMin-n)
		ok := true
		for i := 0; i < n && ok; i++ {
			ok = portFree(base + i)
		}
		if ok {
			return base
		}
	}
	t.Fatal("no run of free ports")
	return 0
}

// The range FreeRun picks from.
const (
	lowPortMin = 20000
	lowPortMax = 32768
)
