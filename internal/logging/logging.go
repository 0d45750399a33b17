// Package logging makes the loggers that write everything meant for people
// to stderr: plain "ami-bakery: ..." lines, or JSON records with
// --log-format json. stdout is never written here; it carries the answer.
package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// New returns a logger writing to w in format "text" or "json".
func New(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(&textHandler{w: w, mu: &sync.Mutex{}})
}

// textHandler prints "ami-bakery: message key=value ...", with "warning:"
// or "error:" before the message at those levels.
type textHandler struct {
	w     io.Writer
	mu    *sync.Mutex
	attrs []slog.Attr
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("ami-bakery: ")
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		v := a.Value.Resolve().String()
		if strings.ContainsAny(v, " \t\"=") || v == "" {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, v)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &textHandler{w: h.w, mu: h.mu, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

// WithGroup is not used by ami-bakery; groups are flattened.
func (h *textHandler) WithGroup(string) slog.Handler { return h }

// Lines returns a writer that logs each line written to it as one record
// with the given source attribute; for packer's progress in JSON mode.
func Lines(l *slog.Logger, source string) io.Writer {
	return &lineLogger{l: l, source: source}
}

type lineLogger struct {
	mu     sync.Mutex
	l      *slog.Logger
	source string
	buf    []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.l.Info(string(w.buf[:i]), "source", w.source)
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}
