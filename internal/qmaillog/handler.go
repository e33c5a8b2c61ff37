// Package qmaillog writes qsend's log in qmail-send's format, so tools
// built for qmail's log (qmailanalog, grep recipes, log monitors) keep
// working: one line per event, no timestamp (multilog or splogger adds
// it), addresses and texts made safe as qmail-send makes them.
//
// Callers emit events with the Log helpers, which produce ordinary slog
// records (good key=value records for the text and JSON handlers too);
// NewHandler renders those records as qmail-send's lines and every other
// record qmail-style: "warning: ..." and "alert: ..." by level.
package qmaillog

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
)

// handler is the slog.Handler returned by NewHandler.
type handler struct {
	w      io.Writer
	level  slog.Leveler
	mu     *sync.Mutex // shared by handlers derived with WithAttrs/WithGroup
	pre    string      // rendered attributes from WithAttrs, each " k=v"
	prefix string      // group names from WithGroup, each followed by "."
}

// NewHandler returns a handler that writes each record to w as one line
// of qmail-send's log (qmail-log.5; qmail-send.c, qsutil.c). Records made by this
// package's Log helpers become qmail-send's exact lines, e.g.
// "starting delivery 1: msg 12 to remote a@example.com"; other records
// become "<msg> k=v ...", prefixed "warning: " at Warn and "alert: " at
// Error and above, with values quoted when they hold spaces. A nil level
// means Info.
func NewHandler(w io.Writer, level slog.Leveler) slog.Handler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &handler{w: w, level: level, mu: new(sync.Mutex)}
}

// Enabled reports whether l is at or above the handler's level.
func (h *handler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// WithAttrs returns a handler that adds attrs to every generic line.
// qmail-send's event lines have a fixed shape and do not show them.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	var b strings.Builder
	b.WriteString(h.pre)
	for _, a := range attrs {
		appendAttr(&b, h.prefix, a)
	}
	h2 := *h
	h2.pre = b.String()
	return &h2
}

// WithGroup returns a handler that qualifies later attribute keys with
// name, as "name.key".
func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}

// Handle writes r as one line.
func (h *handler) Handle(_ context.Context, r slog.Record) error {
	line, ok := eventLine(r)
	if !ok {
		line = h.genericLine(r)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, line+"\n")
	return err
}

// genericLine renders a record that is not one of qmail-send's events.
func (h *handler) genericLine(r slog.Record) string {
	var b strings.Builder
	switch {
	case r.Level >= slog.LevelError:
		if !strings.HasPrefix(r.Message, "alert:") {
			b.WriteString("alert: ")
		}
	case r.Level >= slog.LevelWarn:
		if !strings.HasPrefix(r.Message, "warning:") {
			b.WriteString("warning: ")
		}
	}
	b.WriteString(oneLine(r.Message))
	b.WriteString(h.pre)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.prefix, a)
		return true
	})
	return b.String()
}

// appendAttr writes " key=value" for a, flattening groups into dotted
// keys; empty attributes are skipped, as slog's handlers skip them.
func appendAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			appendAttr(b, prefix, g)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(quoteIfNeeded(oneLine(prefix + a.Key)))
	b.WriteByte('=')
	b.WriteString(quoteIfNeeded(valueString(a.Value)))
}

// valueString is v's text: strings as they are, numbers in decimal,
// everything else as slog prints it.
func valueString(v slog.Value) string {
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case slog.KindUint64:
		return strconv.FormatUint(v.Uint64(), 10)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return err.Error()
		}
	}
	return v.String()
}

// quoteIfNeeded quotes s Go-style when it is empty or holds a space, a
// quote, an equals sign or a control byte, so a line splits into fields
// unambiguously and never spans two lines.
func quoteIfNeeded(s string) string {
	if s == "" {
		return `""`
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '"' || c == '=' || c == 127 {
			return strconv.Quote(s)
		}
	}
	return s
}
