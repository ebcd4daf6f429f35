package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// ErrNone marks a search that found no free run of ports.
var ErrNone = errors.New("freeport: no run of free loopback ports between 20000 and 32768")

// The range ports are picked from.
const (
	lowest  = 20000
	highest = 32768
)

// Free reports whether port is free on loopback for TCP and UDP.
func Free(port int) bool {
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

// given are the ports Run returned in this process: a port is free until
// the test binds it, and tests running in parallel must not both get it.
var given struct {
	sync.Mutex
	ports map[int]bool
}

// Run returns the first of n consecutive free ports, picked at random,
// none of them returned before in this process.
func Run(n int) (int, error) {
	given.Lock()
	defer given.Unlock()
	if given.ports == nil {
		given.ports = map[int]bool{}
	}
	for range 500 {
		base := lowest + rand.IntN(highest-lowest-n)
		ok := true
		for i := 0; i < n && ok; i++ {
			ok = !given.ports[base+i] && Free(base+i)
		}
		if ok {
			for i := range n {
				given.ports[base+i] = true
			}
			return base, nil
		}
	}
	return 0, ErrNone
}
