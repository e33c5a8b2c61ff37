package daemon

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/qsend/qsend/internal/qmaillog"
)

// NewLogger returns the logger for log.format: "text" and "json" are
// slog's handlers, "qmail" writes qmail-send's log lines so existing qmail
// log tools keep working. level may be changed later (SIGHUP).
func NewLogger(w io.Writer, format string, level *slog.LevelVar) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "qmail":
		return slog.New(qmaillog.NewHandler(w, level)), nil
	}
	return nil, fmt.Errorf("log.format: unknown format %q (text, json or qmail)", format)
}
