package testlib

import (
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
)

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	if port <= 0 || port > 65535 {
		t.Fatalf("port %d", port)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port %d is not free: %v", port, err)
	}
	ln.Close()
	if host, _, err := net.SplitHostPort(FreeAddr(t)); err != nil || host != "127.0.0.1" {
		t.Fatalf("FreeAddr: %q %v", host, err)
	}
	if host, _, err := net.SplitHostPort(FreeAddrOn(t, "127.0.0.2")); err != nil || host != "127.0.0.2" {
		t.Fatalf("FreeAddrOn: %q %v", host, err)
	}
}

func TestLogBuffer(t *testing.T) {
	var l LogBuffer
	if l.Lines() != nil || l.Has("") {
		t.Fatalf("empty buffer: %q", l.Lines())
	}
	log := l.Logger()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log.Info("hello")
			_ = l.String()
		}()
	}
	wg.Wait()
	lines := l.Lines()
	if len(lines) != 8 {
		t.Fatalf("%d lines: %q", len(lines), lines)
	}
	l.Write([]byte("plain line\n"))
	if !l.Has("plain line") || slices.Contains(lines, "plain line") {
		t.Fatalf("Has: %q", l.Lines())
	}
}
