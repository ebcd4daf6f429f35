package testbin

import (
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
// `dynamo dev`).
func FreeRun(t testing.TB, n int) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := l.Addr().(*net.TCPAddr).Port
		l.Close()
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
