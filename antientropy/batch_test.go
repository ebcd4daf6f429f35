package antientropy_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/dynamokv/dynamo/antientropy"
	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/messages"
	"github.com/dynamokv/dynamo/version"
	"google.golang.org/protobuf/proto"
)

// Each side gets the merge of what it lacks, in repair order, in batches
// that stay under the byte bound (a lone item above it goes alone); a
// push-only session never writes the local side.
func TestBatchesCutPerSideUnderTheBound(t *testing.T) {
	var repairs []antientropy.Repair
	var sets [][2]*version.Set
	for i := range 10 {
		repairs = append(repairs, antientropy.Repair{Key: []byte(fmt.Sprintf("k%02d", i))})
		local := setOf(t, "a@1", fmt.Sprintf("local-%d-%s", i, bytes.Repeat([]byte("x"), 100)))
		if i%2 == 0 {
			sets = append(sets, [2]*version.Set{local, nil}) // the remote lacks it
		} else {
			sets = append(sets, [2]*version.Set{local, setOf(t, "b@1", fmt.Sprintf("remote-%d", i))}) // both differ
		}
	}
	one := proto.Size(&messages.KeySet{Key: []byte("k00"), Set: version.ToProto(sets[0][0])})
	tree, err := merkle.New(merkle.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := antientropy.NewSession(tree, antientropy.DefaultConfig())
	batches := s.Batches(repairs, sets, 3*one, 0)
	var local, remote []string
	for _, b := range batches {
		size := 0
		for _, it := range b.Items {
			size += proto.Size(it)
			if b.Side == antientropy.Local {
				local = append(local, string(it.Key))
			} else {
				remote = append(remote, string(it.Key))
			}
		}
		if size != b.Bytes || (b.Bytes > 3*one && len(b.Items) > 1) {
			t.Fatalf("batch of %d items, %d bytes (counted %d), bound %d", len(b.Items), size, b.Bytes, 3*one)
		}
	}
	if fmt.Sprint(remote) != "[k00 k01 k02 k03 k04 k05 k06 k07 k08 k09]" || fmt.Sprint(local) != "[k01 k03 k05 k07 k09]" {
		t.Fatalf("local %v remote %v", local, remote)
	}
	cfg := antientropy.DefaultConfig()
	cfg.PushOnly = true
	for _, b := range antientropy.NewSession(tree, cfg).Batches(repairs, sets, 1, 0) {
		if b.Side == antientropy.Local {
			t.Fatal("a push-only session writes the local side")
		}
		if len(b.Items) != 1 {
			t.Fatalf("items above the bound go alone: %d", len(b.Items))
		}
	}
}

// The Merkle wire conversion round-trips, and refuses hashes that are not
// whole.
func TestMerkleWireConversion(t *testing.T) {
	resp := merkle.Response{Level: 2, Indices: []uint32{1, 5}, Hashes: []merkle.Hash{{1}, {2}}, Config: merkle.Config{Depth: 3, FanoutBits: 4}}
	back := antientropy.ResponseOf(antientropy.HashesReply(resp))
	if back.Level != 2 || len(back.Hashes) != 2 || back.Hashes[1] != resp.Hashes[1] || back.Config != resp.Config || back.Err != "" {
		t.Fatalf("round trip: %+v", back)
	}
	if r := antientropy.ResponseOf(&messages.MerkleHashesReply{Hashes: make([]byte, merkle.HashBytes+1)}); r.Err == "" {
		t.Fatal("a partial hash was accepted")
	}
	if e := antientropy.HashesReply(merkle.Response{Err: "bad indices"}).GetError(); e.GetField() != "indices" {
		t.Fatalf("refusal: %v", e)
	}
}
