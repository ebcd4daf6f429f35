package membership

import (
	"context"
	"log/slog"
	"sync"
	"testing"
)

type record struct {
	level slog.Level
	msg   string
}

type recorder struct {
	mu   sync.Mutex
	recs []record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, record{rec.Level, rec.Message})
	return nil
}

func TestLogWriterLevels(t *testing.T) {
	t.Parallel()
	r := &recorder{}
	w := newLogWriter(slog.New(r))
	in := "2024/01/02 03:04:05 [ERR] memberlist: boom\n" +
		"2024/01/02 03:04:05 [WARN] serf: Shutdown without a Leave\n" +
		"[DEBUG] memberlist: Using dynamic bind port 1234\n" +
		"\n" +
		"no tag at all [x]\n"
	if n, err := w.Write([]byte(in)); n != len(in) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	want := []record{
		{slog.LevelWarn, "memberlist: boom"},
		{slog.LevelDebug, "serf: Shutdown without a Leave"},
		{slog.LevelDebug, "memberlist: Using dynamic bind port 1234"},
		{slog.LevelDebug, "no tag at all [x]"},
	}
	if len(r.recs) != len(want) {
		t.Fatalf("got %v, want %v", r.recs, want)
	}
	for i := range want {
		if r.recs[i] != want[i] {
			t.Errorf("record %d = %v, want %v", i, r.recs[i], want[i])
		}
	}
	// nil logger discards.
	if _, err := newLogWriter(nil).Write([]byte("[ERR] x\n")); err != nil {
		t.Fatal(err)
	}
}

// A real member logs through the adapter, not to stderr.
func TestLoggerReceivesSerfLogs(t *testing.T) {
	t.Parallel()
	r := &recorder{}
	start(t, "a", nil, func(c *Config) { c.Logger = slog.New(r) })
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.recs) == 0 {
		t.Fatal("no serf/memberlist log lines reached Config.Logger")
	}
}
