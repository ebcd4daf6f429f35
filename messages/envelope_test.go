package messages

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func TestWrapOpenRoundTripEveryBody(t *testing.T) {
	bodies := []proto.Message{
		&GetRequest{Key: []byte("k"), R: 2}, &GetReply{Found: true, Values: [][]byte{[]byte("v")}},
		&PutRequest{Key: []byte("k"), Value: []byte("v"), W: 2}, &PutReply{Context: []byte{1}},
		&DeleteRequest{Key: []byte("k")}, &DeleteReply{},
		&MembersRequest{}, &MembersReply{Node: "a", Members: []*MemberInfo{{Name: "a", Addr: "127.0.0.1:1", State: MemberState_MEMBER_STATE_UP}}, Partitions: 64, N: 3, Stats: &NodeStats{Restarts: 1}},
		&FaultRequest{Component: "vnode", Partition: 5}, &FaultReply{Node: "a"},
		&ReplicaGetRequest{Partition: 3, Key: []byte("k"), HintOwner: "b"}, &ReplicaGetReply{Node: "a"},
		&ReplicaPutRequest{Partition: 2, HintOwner: "c"}, &ReplicaPutReply{Node: "c", Changed: true},
		&MerkleHashesRequest{Partition: 4, Level: 1, Indices: []uint32{0, 3}}, &MerkleHashesReply{Node: "a", Hashes: make([]byte, 32), Depth: 3, FanoutBits: 4},
		&MerkleKeysRequest{Partition: 4, FirstSegment: 16, LastSegment: 31}, &MerkleKeysReply{Keys: [][]byte{[]byte("k")}, Digests: [][]byte{make([]byte, 32)}},
		&LeaveRequest{}, &LeaveReply{Node: "a", Partitions: 12},
		&RemoveRequest{Node: "c"}, &RemoveReply{Error: &Error{Field: "node"}},
		&ReplicaMergeRequest{Partition: 3, Items: []*KeySet{{Key: []byte("k")}}}, &ReplicaMergeReply{Changed: 1},
		&ReapCheckRequest{Partition: 5, Keys: [][]byte{[]byte("k")}, Digests: [][]byte{make([]byte, 32)}}, &ReapCheckReply{Held: []bool{true}, Retired: []string{"a@0000000000000001"}},
		&ReapRequest{Partition: 5, Items: []*ReapItem{{Key: []byte("k"), Digest: make([]byte, 32)}}}, &ReapReply{Deleted: 1, Skipped: 2},
		&BackgroundRequest{Action: BackgroundAction_BACKGROUND_ACTION_PAUSE}, &BackgroundReply{Node: "a", Paused: true},
		&GetManyRequest{Keys: [][]byte{[]byte("a"), []byte("b")}, R: 2}, &GetManyReply{Replies: []*GetReply{{Found: true}, {}}},
		&ListKeysRequest{Partition: 3, Prefix: []byte("user:"), Limit: 10}, &ListKeysReply{Keys: [][]byte{[]byte("user:a")}, Next: []byte("x"), Done: true},
		&ExportRequest{Partition: 3, Limit: 10}, &ExportReply{Items: []*KeySet{{Key: []byte("k")}}, Done: true},
		&Error{Code: ErrorCode_ERROR_CODE_QUORUM, Need: 2, Got: 1},
	}
	// Every oneof case must be covered by Wrap/Open: count the cases.
	cases := (&Envelope{}).ProtoReflect().Descriptor().Oneofs().ByName("body").Fields().Len()
	if cases != len(bodies) {
		t.Fatalf("Envelope has %d body cases, test covers %d: update Wrap, Open and this test", cases, len(bodies))
	}
	for i, b := range bodies {
		wire, err := proto.Marshal(Wrap(uint64(i), b))
		if err != nil {
			t.Fatal(err)
		}
		var env Envelope
		if err := proto.Unmarshal(wire, &env); err != nil {
			t.Fatal(err)
		}
		got, err := Open(&env)
		if err != nil {
			t.Fatalf("%T: %v", b, err)
		}
		if !proto.Equal(got, b) || env.GetRequestId() != uint64(i) || env.GetProtocol() != ProtocolVersion {
			t.Fatalf("%T: round trip gave %v", b, got)
		}
	}
}

// A newer node sends a body in a oneof field this build does not have: it must
// decode as an envelope with unknown fields, and Open must say so.
func TestEnvelopeFromNewerProtocolIsUnknownNotFatal(t *testing.T) {
	wire, err := proto.Marshal(&Envelope{Protocol: 2, RequestId: 7})
	if err != nil {
		t.Fatal(err)
	}
	wire = protowire.AppendTag(wire, 150, protowire.BytesType)
	wire = protowire.AppendBytes(wire, []byte{0x0a, 0x01, 'x'})
	var env Envelope
	if err := proto.Unmarshal(wire, &env); err != nil {
		t.Fatalf("newer envelope must decode: %v", err)
	}
	if _, err := Open(&env); !errors.Is(err, ErrUnknownBody) {
		t.Fatalf("Open = %v, want ErrUnknownBody", err)
	}
	reply := Unsupported(&env)
	if reply.GetRequestId() != 7 || reply.GetError().GetCode() != ErrorCode_ERROR_CODE_UNSUPPORTED {
		t.Fatalf("Unsupported reply = %v", reply)
	}
	if _, err := Open(nil); !errors.Is(err, ErrUnknownBody) {
		t.Fatalf("Open(nil) = %v", err)
	}
}

func FuzzEnvelopeDecode(f *testing.F) {
	seed, _ := proto.Marshal(Wrap(1, &PutRequest{Key: []byte("k"), Value: []byte("v")}))
	f.Add(seed)
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var env Envelope
		if proto.Unmarshal(b, &env) != nil {
			return
		}
		m, err := Open(&env)
		if err == nil && m == nil {
			t.Fatal("Open returned neither message nor error")
		}
	})
}
