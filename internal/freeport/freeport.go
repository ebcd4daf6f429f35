package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
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

// Run returns the first of n consecutive free ports, picked at random.
func Run(n int) (int, error) {
	for range 500 {
		base := lowest + rand.IntN(highest-lowest-n)
		ok := true
		for i := 0; i < n && ok; i++ {
			ok = Free(base + i)
		}
		if ok {
			return base, nil
		}
	}
	return 0, ErrNone
}
