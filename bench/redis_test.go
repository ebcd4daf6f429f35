package main

import (
	"math"
	"testing"
)

func TestParseRedisCSV(t *testing.T) {
	out := []byte(`"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","91033.23","0.291","0.056","0.279","0.383","0.511","3.279"
"GET","96107.63","0.280","0.096","0.271","0.351","0.671","6.183"
`)
	r, err := parseRedisCSV(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.SetOpsPS != 91033.23 || r.SetP99Ms != 0.511 || r.GetOpsPS != 96107.63 || r.GetP99Ms != 0.671 {
		t.Fatalf("%+v", r)
	}
	if _, err := parseRedisCSV([]byte("\"test\",\"rps\"\n\"SET\",\"1\"\n")); err == nil {
		t.Fatal("output without GET accepted")
	}
	if _, err := parseRedisCSV([]byte("nonsense\n")); err == nil {
		t.Fatal("output without an rps column accepted")
	}
}

func TestRedisRatioWeighsTheMix(t *testing.T) {
	r := &redisResult{SetOpsPS: 100_000, GetOpsPS: 50_000}
	ratio := func(name string, ops float64) float64 {
		t.Helper()
		wl, err := findWorkload(name)
		if err != nil {
			t.Fatal(err)
		}
		rep := &loadReport{Config: loadConfig{wl: wl}, Total: opResult{OpsPerS: ops}}
		return redisRatio(rep, r)
	}
	for _, c := range []struct {
		name string
		ops  float64
		want float64
	}{
		{"put", 10_000, 0.1}, // against SET
		{"get", 10_000, 0.2}, // against GET
		{"A", 10_000, 0.15},  // half each: Redis does 1/(0.5/50k+0.5/100k) = 66,667/s
		{"F", 10_000, 0.25},  // a read and a read-modify-write (GET+SET) in turn
	} {
		if got := ratio(c.name, c.ops); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: ratio %v, want %v", c.name, got, c.want)
		}
	}
}
