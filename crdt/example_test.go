package crdt_test

import (
	"fmt"

	"github.com/dynamokv/dynamo/crdt"
)

// Two devices edit the same cart without seeing each other's change: one
// removes the banana it saw, the other adds milk and adds the banana again.
// The merge keeps every add the remove did not see.
func ExampleORSet_Merge() {
	cart := crdt.NewORSet()
	_, _ = cart.Add("phone", "banana")
	_, _ = cart.Add("phone", "apple")

	phone, laptop := cart.Clone(), cart.Clone() // both read the same cart
	phone.Remove("banana")                      // observed: honoured
	phone.Remove("apple")
	_, _ = laptop.Add("laptop", "milk")
	_, _ = laptop.Add("laptop", "banana") // concurrent with the remove: wins

	phone.Merge(laptop)
	fmt.Println(phone.Elements())
	// Output: [banana milk]
}

// MergeORSets has the shape of client.Update's merge argument: it turns a
// key's siblings into one value.
func ExampleMergeORSets() {
	a, b := crdt.NewORSet(), crdt.NewORSet()
	_, _ = a.Add("alice", "banana")
	_, _ = b.Add("bob", "bread")
	siblings := [][]byte{a.Encode(), b.Encode()} // what client.Get returned

	merged, err := crdt.DecodeORSet(crdt.MergeORSets(siblings))
	if err != nil {
		panic(err)
	}
	// With a client: c.Update(ctx, key, crdt.MergeORSets) does this and
	// writes the result with the read's context.
	fmt.Println(merged.Elements())
	// Output: [banana bread]
}

// UpdateORSet merges the siblings and makes a change in one write.
func ExampleUpdateORSet() {
	addEggs := crdt.UpdateORSet(func(s *crdt.ORSet) {
		if _, err := s.Add("alice", "eggs"); err != nil {
			panic(err) // only for a bad actor id or element
		}
	})
	// With a client: c.Update(ctx, key, addEggs). Here, by hand:
	value := addEggs(nil) // a key not found has no siblings
	s, _ := crdt.DecodeORSet(value)
	fmt.Println(s.Elements(), s.Dots("eggs"))
	// Output: [eggs] [alice:1]
}

func ExampleCounter() {
	views := crdt.NewCounter()
	_ = views.Increment("web-1", 3)
	other := crdt.NewCounter()
	_ = other.Increment("web-2", 2)
	_ = other.Increment("web-2", -1)

	views.Merge(other)
	views.Merge(other) // merging again changes nothing
	v, _ := views.Value()
	fmt.Println(v)
	// Output: 4
}
