// Package daemontest runs the daemon inside a test's process, configured
// through config.Load from KEY=VALUE settings exactly as `qsend daemon
// --set KEY=VALUE` is, on a fresh state_dir and control_dir, and stops it
// when the test ends. It is imported only from _test files.
package daemontest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/daemon"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/setup"
)

// startTimeout bounds the wait for the control socket.
const startTimeout = 10 * time.Second

// Daemon is a daemon running in the test's process.
type Daemon struct {
	// Layout is where the daemon keeps its queue file, control socket and
	// maildrop (its state_dir).
	Layout ctl.Layout
	// Config is the configuration the daemon started with, as config.Load
	// built it.
	Config *config.Config
	logs   *testlib.LogBuffer
}

// Logs returns what the daemon has logged so far, in its log.format.
func (d *Daemon) Logs() string { return d.logs.String() }

// defaults returns the settings Start applies before the test's own: a
// new state_dir and an empty control_dir, each in a temporary directory;
// me test.example (and so every host name that defaults to me); delivery
// held (concurrencylocal and concurrencyremote 0), so that a test sees
// what was queued; local mail, were it released, in Maildirs under
// state_dir instead of real homes; a DNS resolver where nothing answers
// instead of the machine's; timeouts of a second; no SMTP listener and no
// metrics; text logs from level warn.
func defaults(tb testing.TB) map[string]string {
	tb.Helper()
	state := tb.TempDir()
	return map[string]string{
		"state_dir":         state,
		"control_dir":       tb.TempDir(),
		"me":                "test.example",
		"concurrencylocal":  "0",
		"concurrencyremote": "0",
		"local.transport":   "maildir",
		"local.maildir":     filepath.Join(state, "mail", "{user}", "Maildir") + "/",
		"dns.resolvers":     "127.0.0.1:9", // discard: no reply, ever
		"timeoutconnect":    "1",
		"timeoutremote":     "1",
		"smtpd.listen":      "",
		"metrics.listen":    "",
		"log.format":        "text",
		"log.level":         "warn",
	}
}

// Start runs a daemon configured by defaults overridden by settings (keys
// and values as `qsend daemon --set KEY=VALUE` takes them; nil for none)
// and returns once its control socket accepts connections. The QSEND_*
// environment and /etc/qsend/qsend.yaml are not read, so the machine's
// configuration never reaches a test. When the test ends the daemon's
// context is canceled and Start's cleanup waits for daemon.Run to return;
// an error from it fails the test. A test that fails also logs what the
// daemon logged (all of it goes to standard error under go test -v).
func Start(tb testing.TB, settings map[string]string) *Daemon {
	tb.Helper()
	all := defaults(tb)
	maps.Copy(all, settings)
	args := []string{}
	for _, k := range slices.Sorted(maps.Keys(all)) {
		args = append(args, "--set", k+"="+all[k])
	}
	fs := pflag.NewFlagSet("qsend daemon", pflag.ContinueOnError)
	config.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		tb.Fatalf("daemontest: %v", err)
	}
	opts := config.Options{
		Flags:       fs,
		Environ:     []string{},
		UID:         -1,
		DefaultFile: filepath.Join(tb.TempDir(), "absent.yaml"),
	}
	cfg, err := config.Load(opts)
	if err != nil {
		tb.Fatalf("daemontest: configuration: %v", err)
	}

	d := &Daemon{Layout: ctl.LayoutOf(cfg.StateDir), Config: cfg, logs: &testlib.LogBuffer{}}
	var w io.Writer = d.logs
	if testing.Verbose() {
		w = io.MultiWriter(d.logs, os.Stderr)
	}
	level := new(slog.LevelVar)
	level.Set(cfg.LogLevel)
	log, err := setup.Logger(w, cfg.LogFormat, level)
	if err != nil {
		tb.Fatalf("daemontest: configuration: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.Run(ctx, cfg, opts, log, level) }()
	var exited bool // Run has returned and its error was reported
	tb.Cleanup(func() {
		cancel()
		if !exited {
			if err := <-done; err != nil {
				tb.Errorf("daemontest: daemon: %v", err)
			}
		}
		if tb.Failed() && !testing.Verbose() {
			tb.Logf("daemon log:\n%s", d.Logs())
		}
	})
	if exited, err = waitSocket(d.Layout.Socket, done); err != nil {
		tb.Fatalf("daemontest: %v", err)
	}
	return d
}

// waitSocket waits until the control socket accepts a connection. It
// reports whether Run returned instead (its result is on done).
func waitSocket(path string, done <-chan error) (exited bool, err error) {
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			c.Close()
			return false, nil
		}
		select {
		case err := <-done:
			return true, fmt.Errorf("daemon exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("no control socket after %v: %v", startTimeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
