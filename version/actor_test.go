package version

import "testing"

func TestActorIDAndNodeOf(t *testing.T) {
	if id := ActorID("node-1", 0xab); id != "node-1@00000000000000ab" {
		t.Fatalf("ActorID = %q", id)
	}
	long := string(make([]byte, MaxNodeLen))
	if n := len(ActorID(long, ^uint64(0))); n > MaxActorLen {
		t.Fatalf("an actor id of the longest node name is %d bytes, the limit is %d", n, MaxActorLen)
	}
	if n, ok := NodeOf(ActorID("a@b", 7)); !ok || n != "a@b" {
		t.Fatalf("NodeOf(ActorID) = %q, %v", n, ok)
	}
	for _, tc := range []struct {
		actor, node string
		ok          bool
	}{
		{"node-1@0123456789abcdef", "node-1", true},
		{"a@b@0123456789abcdef", "a@b", true},
		{"node-1@0123456789ABCDEF", "", false},
		{"node-1@0123456789abcde", "", false},
		{"@0123456789abcdef", "", false},
		{"node-1", "", false},
		{"old@1", "", false},
	} {
		n, ok := NodeOf(tc.actor)
		if n != tc.node || ok != tc.ok {
			t.Errorf("NodeOf(%q) = %q, %v; want %q, %v", tc.actor, n, ok, tc.node, tc.ok)
		}
	}
}
