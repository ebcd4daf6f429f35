package antientropy

import (
	"fmt"

	"github.com/dynamokv/dynamo/merkle"
	"github.com/dynamokv/dynamo/messages"
)

// ResponseOf is the merkle.Response a MerkleHashesReply carries; hashes that
// are not whole hashes make a Response with Err set (StepHashes refuses it).
func ResponseOf(r *messages.MerkleHashesReply) merkle.Response {
	resp := merkle.Response{Level: int(r.GetLevel()), Indices: r.GetIndices(),
		Config: merkle.Config{Depth: int(r.GetDepth()), FanoutBits: int(r.GetFanoutBits())}}
	raw := r.GetHashes()
	if len(raw)%merkle.HashBytes != 0 {
		resp.Err = fmt.Sprintf("hashes of %d bytes are not a whole number of %d-byte hashes", len(raw), merkle.HashBytes)
		return resp
	}
	for i := 0; i < len(raw); i += merkle.HashBytes {
		resp.Hashes = append(resp.Hashes, merkle.Hash(raw[i:i+merkle.HashBytes]))
	}
	return resp
}

// HashesReply is resp as a MerkleHashesReply; a refused request is
// INVALID_ARGUMENT naming "indices".
func HashesReply(resp merkle.Response) *messages.MerkleHashesReply {
	r := &messages.MerkleHashesReply{Level: uint32(resp.Level), Indices: resp.Indices,
		Depth: uint32(resp.Config.Depth), FanoutBits: uint32(resp.Config.FanoutBits)}
	for _, h := range resp.Hashes {
		r.Hashes = append(r.Hashes, h[:]...)
	}
	if resp.Err != "" {
		r.Error = &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Field: "indices", Message: resp.Err}
	}
	return r
}
