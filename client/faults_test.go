package client

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/remoting"
)

// The storage fault calls go to the member named, check their arguments
// before sending, and return the node's refusal as an *InvalidError.
func TestStorageFaultsAddressANamedNode(t *testing.T) {
	cl := startCluster(t, 3, 3)
	c := cl.newClient(t, cl.nodes[0].addr())
	target := cl.nodes[2]
	var ie *InvalidError
	// The fake nodes refuse every fault but the router's, as a node
	// without --allow-fault-injection does.
	if err := c.FailDiskWrites(bg(t), target.name, time.Second, 20*time.Millisecond, 50*time.Millisecond); !errors.As(err, &ie) || ie.Field != "component" {
		t.Fatalf("disk fault: %v", err)
	}
	if err := c.CorruptKey(bg(t), target.name, []byte("k")); !errors.As(err, &ie) || ie.Field != "component" {
		t.Fatalf("corrupt key: %v", err)
	}
	if err := c.CorruptPartition(bg(t), target.name, 3, 5); !errors.As(err, &ie) || ie.Field != "component" {
		t.Fatalf("corrupt partition: %v", err)
	}
	got := target.requests()
	if len(got) < 3 || strings.Join(got[len(got)-3:], ",") != "fault disk,fault corrupt,fault corrupt" {
		t.Fatalf("requests on %s: %v", target.name, got)
	}
	sent := len(target.requests())
	for name, err := range map[string]error{
		"negative duration": c.FailDiskWrites(bg(t), target.name, -time.Second, 0, 0),
		"inverted delays":   c.FailDiskWrites(bg(t), target.name, time.Second, 50*time.Millisecond, time.Millisecond),
		"long delay":        c.FailDiskWrites(bg(t), target.name, time.Second, 0, time.Minute),
		"empty key":         c.CorruptKey(bg(t), target.name, nil),
		"no keys":           c.CorruptPartition(bg(t), target.name, 3, 0),
		"crash of disk":     c.InjectFault(bg(t), target.name, remoting.ComponentDisk, 0),
		"crash of nonsense": c.InjectFault(bg(t), target.name, "nonsense", 0),
	} {
		if !errors.As(err, &ie) {
			t.Errorf("%s: %v, want an *InvalidError", name, err)
		}
	}
	if n := len(target.requests()); n != sent {
		t.Fatalf("bad arguments reached the node: %v", target.requests()[sent:])
	}
}
