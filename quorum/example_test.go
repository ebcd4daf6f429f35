package quorum_test

import (
	"errors"
	"fmt"
	"maps"

	"github.com/dynamokv/dynamo/quorum"
)

// clock is a toy version set: a grow-only counter per writer.
type clock map[string]int

var clockObject = quorum.Object[clock]{
	Merge: func(a, b clock) clock {
		out := maps.Clone(a)
		if out == nil {
			out = clock{}
		}
		for k, v := range b {
			out[k] = max(out[k], v)
		}
		return out
	},
	Descends: func(a, b clock) bool {
		for k, v := range b {
			if a[k] < v {
				return false
			}
		}
		return true
	},
}

func ExampleGetCore() {
	core, err := quorum.NewGetCore(quorum.GetConfig[clock]{
		N: 3, R: 2, NotFoundOK: true,
		Object:   clockObject,
		Replicas: []quorum.Node{"a", "b", "c"},
	})
	if err != nil {
		panic(err)
	}
	// The coordinator feeds replies in as they arrive.
	_ = core.Add("b", quorum.Found, clock{"x": 2}, nil)
	fmt.Println(core.Enough())
	_ = core.Add("a", quorum.NotFound, nil, nil)
	res, err := core.Result()
	fmt.Println(core.Enough(), res.Found, res.Value["x"], err)
	// Reply to the client now; keep listening for read repair.
	_ = core.Add("c", quorum.Found, clock{"x": 1}, nil)
	merged, _ := core.Merged()
	fmt.Println(core.Done(), core.RepairTargets(), merged["x"])
	// Output:
	// false
	// true true 2 <nil>
	// true [a c] 2
}

func ExamplePutCore() {
	core, err := quorum.NewPutCore(quorum.PutConfig{
		N: 3, W: 2,
		Replicas:  []quorum.Node{"a", "b", "d"},
		Fallbacks: map[quorum.Node]quorum.Node{"d": "c"}, // d holds a hint for c
	})
	if err != nil {
		panic(err)
	}
	_ = core.Add("d", quorum.Acked, nil)
	_ = core.Add("a", quorum.Failed, errors.New("disk full"))
	fmt.Println(core.Enough())
	_ = core.Add("b", quorum.Acked, nil)
	res, err := core.Result()
	fmt.Printf("%+v %v\n", res, err)
	// Output:
	// false
	// {Acked:2 Hinted:1 Asked:3} <nil>
}

func ExampleError() {
	core, _ := quorum.NewGetCore(quorum.GetConfig[clock]{
		N: 3, R: 2, NotFoundOK: true,
		Object:   clockObject,
		Replicas: []quorum.Node{"a", "b", "c"},
	})
	_ = core.Add("a", quorum.Found, clock{"x": 1}, nil)
	_ = core.Add("b", quorum.Failed, nil, errors.New("disk full"))
	core.Timeout() // the coordinator's deadline fired
	_, err := core.Result()
	var qe *quorum.Error
	fmt.Println(err)
	fmt.Println(errors.Is(err, quorum.ErrQuorum), errors.As(err, &qe) && qe.Need == 2 && qe.Got == 1)
	// Output:
	// read quorum: 1 of 2 replicas answered (3 asked: 1 failed, 1 timed out)
	// true true
}
