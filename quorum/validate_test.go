package quorum

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		n, r, w int
		want    string // "" for no error
	}{
		{1, 1, 1, ""},
		{3, 2, 2, ""},
		{3, 1, 3, ""},
		{3, 3, 1, ""},
		{MaxN, MaxN, MaxN, ""},
		{0, 1, 1, "quorum: n must be at least 1, got 0"},
		{-2, 1, 1, "quorum: n must be at least 1, got -2"},
		{MaxN + 1, 1, 1, "quorum: n=17 exceeds MaxN=16"},
		{3, 0, 2, "quorum: r must be at least 1, got 0"},
		{3, -1, 2, "quorum: r must be at least 1, got -1"},
		{3, 4, 2, "quorum: r=4 exceeds n=3"},
		{3, 2, 0, "quorum: w must be at least 1, got 0"},
		{3, 2, 4, "quorum: w=4 exceeds n=3"},
		{3, 5, 5, "quorum: r=5 exceeds n=3"}, // r is checked before w
	}
	for _, tt := range tests {
		err := Validate(tt.n, tt.r, tt.w)
		if tt.want == "" {
			if err != nil {
				t.Errorf("Validate(%d, %d, %d) = %v, want nil", tt.n, tt.r, tt.w, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("Validate(%d, %d, %d) = nil, want %q", tt.n, tt.r, tt.w, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Validate(%d, %d, %d) = %q, want %q", tt.n, tt.r, tt.w, err, tt.want)
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%d, %d, %d) = %v, does not wrap ErrInvalid", tt.n, tt.r, tt.w, err)
		}
		if errors.Is(err, ErrQuorum) {
			t.Errorf("Validate(%d, %d, %d) = %v, wraps ErrQuorum", tt.n, tt.r, tt.w, err)
		}
	}
}

func TestMaxN(t *testing.T) {
	if MaxN != 16 {
		t.Fatalf("MaxN = %d, the messages below assume 16", MaxN)
	}
	if err := Validate(MaxN, 1, 1); err != nil {
		t.Errorf("Validate(MaxN, 1, 1) = %v", err)
	}
}

func TestNewGetCoreInvalid(t *testing.T) {
	abc := nodes("a", "b", "c")
	tests := []struct {
		name string
		cfg  GetConfig[vset]
		want string
	}{
		{"n zero", GetConfig[vset]{N: 0, R: 1, Object: vsetObject, Replicas: abc},
			"quorum: n must be at least 1, got 0"},
		{"n too big", GetConfig[vset]{N: 20, R: 1, Object: vsetObject, Replicas: abc},
			"quorum: n=20 exceeds MaxN=16"},
		{"r zero", GetConfig[vset]{N: 3, R: 0, Object: vsetObject, Replicas: abc},
			"quorum: r must be at least 1, got 0"},
		{"r over n", GetConfig[vset]{N: 3, R: 4, Object: vsetObject, Replicas: abc},
			"quorum: r=4 exceeds n=3"},
		{"no merge", GetConfig[vset]{N: 3, R: 2, Object: Object[vset]{Descends: descendsVset}, Replicas: abc},
			"quorum: Object.Merge is nil"},
		{"no descends", GetConfig[vset]{N: 3, R: 2, Object: Object[vset]{Merge: mergeVset}, Replicas: abc},
			"quorum: Object.Descends is nil"},
		{"too few replicas", GetConfig[vset]{N: 3, R: 2, Object: vsetObject, Replicas: nodes("a")},
			"quorum: r=2 exceeds the 1 replicas asked"},
		{"no replicas", GetConfig[vset]{N: 3, R: 1, Object: vsetObject},
			"quorum: r=1 exceeds the 0 replicas asked"},
		{"duplicate replica", GetConfig[vset]{N: 3, R: 2, Object: vsetObject, Replicas: nodes("a", "b", "a")},
			`quorum: replica "a" is listed twice (positions 0 and 2)`},
		{"empty replica", GetConfig[vset]{N: 3, R: 2, Object: vsetObject, Replicas: nodes("a", "", "c")},
			"quorum: replica 1 has an empty node name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewGetCore(tt.cfg)
			if err == nil {
				t.Fatalf("NewGetCore = %v, nil; want error %q", c, tt.want)
			}
			if c != nil {
				t.Errorf("NewGetCore returned a core with error %v", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestNewPutCoreInvalid(t *testing.T) {
	abc := nodes("a", "b", "c")
	tests := []struct {
		name string
		cfg  PutConfig
		want string
	}{
		{"n zero", PutConfig{N: 0, W: 1, Replicas: abc}, "quorum: n must be at least 1, got 0"},
		{"n too big", PutConfig{N: 17, W: 1, Replicas: abc}, "quorum: n=17 exceeds MaxN=16"},
		{"w zero", PutConfig{N: 3, W: 0, Replicas: abc}, "quorum: w must be at least 1, got 0"},
		{"w over n", PutConfig{N: 3, W: 4, Replicas: abc}, "quorum: w=4 exceeds n=3"},
		{"too few replicas", PutConfig{N: 3, W: 3, Replicas: nodes("a", "b")},
			"quorum: w=3 exceeds the 2 replicas asked"},
		{"duplicate replica", PutConfig{N: 3, W: 2, Replicas: nodes("a", "b", "b")},
			`quorum: replica "b" is listed twice (positions 1 and 2)`},
		{"fallback not asked", PutConfig{N: 3, W: 2, Replicas: abc, Fallbacks: map[Node]Node{"x": "d"}},
			`quorum: fallback "x" is not among the replicas asked`},
		{"fallback empty primary", PutConfig{N: 3, W: 2, Replicas: abc, Fallbacks: map[Node]Node{"c": ""}},
			`quorum: fallback "c" has an empty primary`},
		{"fallback primary asked", PutConfig{N: 3, W: 2, Replicas: abc, Fallbacks: map[Node]Node{"c": "a"}},
			`quorum: fallback "c" stands in for "a", which is also asked`},
		{"fallback for itself", PutConfig{N: 3, W: 2, Replicas: abc, Fallbacks: map[Node]Node{"c": "c"}},
			`quorum: fallback "c" stands in for "c", which is also asked`},
		{"two fallbacks one primary", PutConfig{N: 3, W: 2, Replicas: abc, Fallbacks: map[Node]Node{"c": "d", "b": "d"}},
			`quorum: fallbacks "b" and "c" both stand in for "d"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewPutCore(tt.cfg)
			if err == nil {
				t.Fatalf("NewPutCore = %v, nil; want error %q", c, tt.want)
			}
			if c != nil {
				t.Errorf("NewPutCore returned a core with error %v", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestConfigIsCopied(t *testing.T) {
	rs := nodes("a", "b", "c")
	g := mustGet(t, GetConfig[vset]{N: 3, R: 2, NotFoundOK: true, Replicas: rs})
	fb := map[Node]Node{"c": "d"}
	ps := nodes("a", "b", "c")
	p := mustPut(t, PutConfig{N: 3, W: 2, Replicas: ps, Fallbacks: fb})
	rs[0], ps[0] = "z", "z"
	delete(fb, "c")
	mustAdd(t, g.Add("a", NotFound, nil, nil))
	mustAdd(t, p.Add("a", Acked, nil))
	if err := g.Add("z", NotFound, nil, nil); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("get Add(z) after caller changed Replicas = %v, want ErrUnknownNode", err)
	}
	mustAdd(t, p.Add("c", Acked, nil))
	res, err := p.Result()
	if err != nil || res.Hinted != 1 {
		t.Errorf("put after caller changed Fallbacks: %+v, %v; want Hinted 1", res, err)
	}
}

func TestStrings(t *testing.T) {
	for k, want := range map[ReplyKind]string{
		Found: "Found", NotFound: "NotFound", Acked: "Acked", Failed: "Failed", TimedOut: "TimedOut",
		0: "ReplyKind(0)", 9: "ReplyKind(9)",
	} {
		if got := k.String(); got != want {
			t.Errorf("ReplyKind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
