package chaos

import (
	"strings"
	"testing"
)

func TestCheckFindsLostUnexpectedAndInconsistent(t *testing.T) {
	adds := []Add{
		{"c1", "a", Acked}, {"c1", "b", Acked}, {"c1", "x", Failed}, {"c1", "y", Unknown},
		{"c2", "d", Acked},
	}
	good := Final{Reads: map[string]map[string][]string{
		"c1": {"n1": {"a", "b", "x"}, "n2": {"b", "a", "x"}},
		"c2": {"n1": {"d"}, "n2": {"d"}},
	}}
	r := Check(adds, good)
	if !r.OK() || r.Acked != 3 || r.Failed != 1 || r.Unknown != 1 || r.RecoveredFailed != 1 || len(r.NeverRead) != 0 {
		t.Fatalf("a clean history: %+v", r)
	}
	bad := Final{Reads: map[string]map[string][]string{
		"c1": {"n1": {"a", "zz"}, "n2": {"a", "b"}},
		"c2": {},
	}, Diverged: []string{"c1"}}
	r = Check(adds, bad)
	if r.OK() {
		t.Fatal("a bad history passes")
	}
	if strings.Join(r.Unexpected, ",") != "c1/zz" {
		t.Fatalf("unexpected %v", r.Unexpected)
	}
	lost := strings.Join(r.Lost, ";")
	if !strings.Contains(lost, "c1/b (missing through n1)") || !strings.Contains(lost, "c2/d (cart not read)") || strings.Contains(lost, "c1/a") {
		t.Fatalf("lost %v", r.Lost)
	}
	if strings.Join(r.NeverRead, ",") != "c2/d" || len(r.Inconsistent) != 1 || len(r.Diverged) != 1 {
		t.Fatalf("never read %v, inconsistent %v, diverged %v", r.NeverRead, r.Inconsistent, r.Diverged)
	}
}
