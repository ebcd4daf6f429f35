package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dynamokv/dynamo/messages"
)

// A request sent the moment Start returns finds the router (Start waits
// for the supervisor to spawn it), not a dead letter.
func TestRouterAnswersAsSoonAsStartReturns(t *testing.T) {
	for i := range 20 {
		cfg := testConfig(t, fmt.Sprintf("s%d", i), t.TempDir())
		nd, err := Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := nd.Ask(ctx, &messages.MembersRequest{}) // the HTTP API's way in: no network in between
		cancel()
		nd.Stop()
		if err != nil {
			t.Fatalf("start %d: a request sent as Start returned: %v", i, err)
		}
		if _, ok := res.(*messages.MembersReply); !ok {
			t.Fatalf("start %d: %T %v", i, res, res)
		}
	}
}
