// Package testlib holds small helpers shared by tests: a free TCP port and
// a log buffer safe for concurrent use. It is imported only from _test
// files and from the *test packages that run real peers.
package testlib

import (
	"bytes"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// a server that must be told its port before it binds it, or for an address
// where nothing listens. It fails the test when no port can be had.
func FreePort(tb testing.TB) int {
	tb.Helper()
	return FreePortOn(tb, "127.0.0.1")
}

// FreePortOn is FreePort on the IPv4 address ip, such as 127.0.0.2.
func FreePortOn(tb testing.TB, ip string) int {
	tb.Helper()
	ln, err := net.Listen("tcp4", net.JoinHostPort(ip, "0"))
	if err != nil {
		tb.Fatalf("testlib: free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreeAddr is FreePort as an address, "127.0.0.1:port".
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	return FreeAddrOn(tb, "127.0.0.1")
}

// FreeAddrOn is FreePortOn as an address, "ip:port".
func FreeAddrOn(tb testing.TB, ip string) string {
	tb.Helper()
	return net.JoinHostPort(ip, strconv.Itoa(FreePortOn(tb, ip)))
}

// LogBuffer collects what a logger (or a child process) writes; it is safe
// for concurrent use, so a test can read it while goroutines still log.
// The zero value is empty and ready to use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Lines returns the lines written so far, without their newlines; nil when
// nothing was written.
func (l *LogBuffer) Lines() []string {
	s := strings.TrimSuffix(l.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Has reports whether line is one of the lines written so far.
func (l *LogBuffer) Has(line string) bool { return slices.Contains(l.Lines(), line) }

// Logger returns a logger writing slog's text format into l at level Info
// and above.
func (l *LogBuffer) Logger() *slog.Logger { return l.LoggerLevel(slog.LevelInfo) }

// LoggerLevel is Logger with a minimum level, which may be a *slog.LevelVar
// that the code under test changes.
func (l *LogBuffer) LoggerLevel(level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: level}))
}
