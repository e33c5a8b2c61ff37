package smtpclient

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/internal/testlib"
)

// startAiosmtpd runs Debian's python3-aiosmtpd (scripts/test installs it)
// on 127.0.0.2 and returns its address and the folder it writes messages to.
func startAiosmtpd(t *testing.T) (netip.AddrPort, string) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import aiosmtpd").Run(); err != nil {
		t.Skipf("python3-aiosmtpd is not installed (scripts/test installs it): %v", err)
	}
	port := testlib.FreePortOn(t, "127.0.0.2")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, python, filepath.Join("testdata", "aiosmtpd_sink.py"), "127.0.0.2", fmt.Sprint(port), dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
		cancel()
	})
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line == "ready\n"
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("aiosmtpd did not start")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("aiosmtpd did not start in 20s")
	}
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), uint16(port)), dir
}

// TestAiosmtpdLongLines: the real aiosmtpd refuses a line over its limit
// with "500 Line too long", and takes the same message as qsend folds it;
// a line of 998 octets arrives unchanged.
func TestAiosmtpdLongLines(t *testing.T) {
	addr, dir := startAiosmtpd(t)
	long := "Subject: " + strings.Repeat("word ", 300) + "\n\n" + strings.Repeat("y", 3000) + "\n"

	// Sent unchanged, as qmail-remote would, the message is refused.
	nc, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(nc)
	var last string
	for _, cmd := range []string{"", "HELO x", "MAIL FROM:<s@x>", "RCPT TO:<r@x>", "DATA",
		strings.ReplaceAll(long, "\n", "\r\n") + "."} {
		if cmd != "" {
			fmt.Fprintf(nc, "%s\r\n", cmd)
		}
		if last, err = r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasPrefix(last, "500 Line too long") {
		t.Fatalf("unfolded message got %q, want 500 Line too long", last)
	}

	c, err := Dial(context.Background(), addr, "", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ok998 := "Subject: s\n\n" + strings.Repeat("z", 998) + "\n"
	for i, msg := range []string{long, ok998} {
		res, err := c.Send(context.Background(), Envelope{Sender: "s@x", Rcpts: []string{"r@x"}}, Message{Body: strings.NewReader(msg)})
		if err != nil || res[0].State != Delivered {
			t.Fatalf("message %d: %+v %v", i, res, err)
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, "1"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Subject: " + strings.Repeat("word ", 197) + "word\r\n " + strings.Repeat("word ", 102) + "\r\n\r\n" +
		strings.Repeat("y", 998) + "\r\n" + strings.Repeat("y", 998) + "\r\n" + strings.Repeat("y", 998) + "\r\n" + "yyyyyy\r\n"; string(got) != want {
		t.Errorf("folded message arrived as %q, want %q", got, want)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "2")); err != nil || string(got) != strings.ReplaceAll(ok998, "\n", "\r\n") {
		t.Errorf("998-octet line arrived as %q (%v)", got, err)
	}
}
