// Package setup builds qsend's components from a *config.Config: the one
// place that wires configuration to code. The daemon, `qsend smtpd`,
// `qsend tls-probe` and the queue commands build what they need here, so
// they all read a key the same way. setup sits above config, store, mx,
// tls, delivery, intake and smtpd, and below daemon and cmd.
package setup

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/internal/qmaillog"
)

// Logger returns the logger for log.format: text and json are slog's
// handlers, qmail writes qmail-send's log lines so existing qmail log
// tools keep working. level may be changed later (SIGHUP).
func Logger(w io.Writer, format config.LogFormat, level *slog.LevelVar) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "", config.LogText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case config.LogJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case config.LogQmail:
		return slog.New(qmaillog.NewHandler(w, level)), nil
	}
	return nil, fmt.Errorf("log.format: unknown format %q (text, json or qmail)", format)
}
