package membership

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
)

// logWriter adapts serf's and memberlist's standard-library loggers to
// slog. Both are created with log.LstdFlags over this writer, so each Write
// is one line "2006/01/02 15:04:05 [LEVEL] component: message\n".
// "[ERR]" lines go to Warn, everything else to Debug. It is safe for
// concurrent use (serf and memberlist each have their own log.Logger).
type logWriter struct {
	l *slog.Logger
}

func newLogWriter(l *slog.Logger) logWriter {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return logWriter{l: l}
}

func (w logWriter) Write(p []byte) (int, error) {
	for line := range bytes.Lines(p) {
		s := strings.TrimRight(string(line), "\r\n")
		if s == "" {
			continue
		}
		level, tag, msg := parseLogLine(s)
		if !w.l.Enabled(context.Background(), level) {
			continue
		}
		if tag == "" {
			w.l.Log(context.Background(), level, msg)
		} else {
			w.l.Log(context.Background(), level, msg, slog.String("serf_level", tag))
		}
	}
	return len(p), nil
}

// parseLogLine drops the timestamp and the "[LEVEL]" tag from a serf or
// memberlist log line and maps the tag to a slog level. A line without a
// tag is logged whole at Debug.
func parseLogLine(s string) (level slog.Level, tag, msg string) {
	rest := stripTimestamp(s)
	if !strings.HasPrefix(rest, "[") {
		return slog.LevelDebug, "", s
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return slog.LevelDebug, "", s
	}
	tag = rest[1:end]
	msg = strings.TrimSpace(rest[end+1:])
	if tag == "ERR" || tag == "ERROR" {
		return slog.LevelWarn, tag, msg
	}
	return slog.LevelDebug, tag, msg
}

// stripTimestamp removes a log.LstdFlags prefix "2006/01/02 15:04:05 ".
func stripTimestamp(s string) string {
	const layout = "2006/01/02 15:04:05 "
	if len(s) < len(layout) {
		return s
	}
	for i := 0; i < len(layout); i++ {
		c, l := s[i], layout[i]
		if l >= '0' && l <= '9' {
			if c < '0' || c > '9' {
				return s
			}
		} else if c != l {
			return s
		}
	}
	return s[len(layout):]
}
