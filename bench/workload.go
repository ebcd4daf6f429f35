package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// opKind is one kind of operation the load generator issues; each has its
// own histogram and error counts.
type opKind int

const (
	opRead   opKind = iota // YCSB read: a get
	opUpdate               // YCSB update: a put
	opRMW                  // YCSB read-modify-write: a get, then a put with the read's context
	opGet                  // workload get: a get
	opPut                  // workload put: a put
	numOps
)

var opNames = [numOps]string{"read", "update", "rmw", "get", "put"}

func (k opKind) String() string { return opNames[k] }

// workload is an operation mix. Weights are in percent and add up to 100.
type workload struct {
	name string
	desc string
	mix  []opWeight
	// preload: the keys are written before the measured run (workloads
	// that read).
	preload bool
}

type opWeight struct {
	op      opKind
	percent int
}

// workloads, in the order the help lists them.
var workloads = []workload{
	{name: "A", desc: "update heavy: 50% read, 50% update", mix: []opWeight{{opRead, 50}, {opUpdate, 50}}, preload: true},
	{name: "B", desc: "read mostly: 95% read, 5% update", mix: []opWeight{{opRead, 95}, {opUpdate, 5}}, preload: true},
	{name: "C", desc: "read only: 100% read", mix: []opWeight{{opRead, 100}}, preload: true},
	{name: "F", desc: "read-modify-write: 50% read, 50% rmw (get, then put with the read's context; timed as one op)", mix: []opWeight{{opRead, 50}, {opRMW, 50}}, preload: true},
	{name: "put", desc: "put only: 100% put", mix: []opWeight{{opPut, 100}}},
	{name: "get", desc: "get only: 100% get", mix: []opWeight{{opGet, 100}}, preload: true},
}

// findWorkload looks a workload up by name, case-insensitively.
func findWorkload(name string) (workload, error) {
	for _, w := range workloads {
		if strings.EqualFold(w.name, name) {
			return w, nil
		}
	}
	names := make([]string, len(workloads))
	for i, w := range workloads {
		names[i] = w.name
	}
	return workload{}, fmt.Errorf("unknown workload %q (known: %s)", name, strings.Join(names, ", "))
}

// pick chooses the operation for u, uniform in [0, 1).
func (w workload) pick(u float64) opKind {
	p := u * 100
	acc := 0.0
	for _, m := range w.mix {
		acc += float64(m.percent)
		if p < acc {
			return m.op
		}
	}
	return w.mix[len(w.mix)-1].op
}

// ops lists the operation kinds of the mix, in mix order.
func (w workload) ops() []opKind {
	out := make([]opKind, len(w.mix))
	for i, m := range w.mix {
		out[i] = m.op
	}
	return out
}

// Key distributions.
const (
	distUniform = "uniform"
	distZipfian = "zipfian"
	// zipfS is the exponent of the zipfian distribution. YCSB uses a
	// constant of 0.99; math/rand's Zipf needs s > 1, and 1.01 is as
	// skewed to within a few percent: the hottest key gets ~8% of the
	// requests over 100,000 keys, the hottest 1% of keys about two thirds.
	zipfS = 1.01
)

// keyChooser picks key indexes in [0, keys). It is not safe for concurrent
// use: each worker has its own.
type keyChooser interface {
	next() int
}

type uniformKeys struct {
	r    *rand.Rand
	keys int
}

func (u *uniformKeys) next() int { return u.r.IntN(u.keys) }

// zipfKeys: key index 0 is the hottest, then 1, and so on. The ring hashes
// key names (MD5), so hot keys still spread over partitions and nodes.
type zipfKeys struct{ z *rand.Zipf }

func (z *zipfKeys) next() int { return int(z.z.Uint64()) }

func newKeyChooser(dist string, keys int, r *rand.Rand) (keyChooser, error) {
	switch dist {
	case distUniform:
		return &uniformKeys{r: r, keys: keys}, nil
	case distZipfian:
		return &zipfKeys{z: rand.NewZipf(r, zipfS, 1, uint64(keys-1))}, nil
	}
	return nil, fmt.Errorf("unknown distribution %q (known: uniform, zipfian)", dist)
}

// keyName is the name of key index i.
func keyName(i int) []byte { return fmt.Appendf(nil, "key-%08d", i) }

// workerRand is worker w's random source for a run seeded with seed: runs
// with the same seed choose the same operations and keys per worker.
func workerRand(seed uint64, w int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(w)+1))
}
