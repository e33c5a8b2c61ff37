// Package dovecottest runs a private Dovecot LMTP server (Debian 12:
// dovecot-core and dovecot-lmtpd) for the tests of qsend's LMTP delivery:
// virtual users in a passwd-file, Maildirs in the instance directory, LMTP
// on a Unix socket and on 127.0.0.1. A recipient that is not one of the
// users gets 550 5.1.1 at RCPT. The system Dovecot and /etc/dovecot are
// never touched.
//
// Dovecot must run as root (it switches to mail_uid for each delivery and
// to its own users for its helper processes), so Start skips the test when
// not root or when Dovecot is not installed; scripts/test installs it.
package dovecottest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qsend/qsend/internal/testlib"
)

// Options say which mailboxes the server has.
type Options struct {
	Users []string // mailbox users, virtual (no system accounts); names without "@", compared case-insensitively
}

// Dovecot is a running private Dovecot instance.
type Dovecot struct {
	in   instance
	addr netip.AddrPort
	cmd  *exec.Cmd
	done chan struct{}      // closed when the master process has exited
	out  *testlib.LogBuffer // the master's stdout and stderr
}

// Timeouts of Start and of the stop in t.Cleanup.
const (
	startTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
)

// The programs Start needs, as installed by the Debian packages.
const (
	dovecotBin = "/usr/sbin/dovecot"
	lmtpBin    = "/usr/lib/dovecot/lmtp" // dovecot-lmtpd
)

// mailUser owns the Maildirs: a system user every Debian machine has.
const mailUser = "mail"

// Start starts a private Dovecot with its own configuration, base_dir and
// mailboxes under a short directory in /tmp (Unix socket paths are limited
// to 108 bytes), waits until LMTP answers on both the Unix socket and TCP,
// and stops it and removes the directory when the test ends. It skips the
// test when not root or when Dovecot or its LMTP server is not installed,
// and fails it when Dovecot does not come up.
func Start(t testing.TB, o Options) *Dovecot {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("dovecottest: Dovecot needs root to switch to the mailbox user")
	}
	for _, p := range []string{dovecotBin, lmtpBin} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("dovecottest: Dovecot is not installed (apt-get install dovecot-core dovecot-lmtpd): %v", err)
		}
	}
	for _, u := range []string{"dovecot", "dovenull"} {
		if _, err := user.Lookup(u); err != nil {
			t.Skipf("dovecottest: Dovecot's system user is missing: %v", err)
		}
	}
	mu, err := user.Lookup(mailUser)
	if err != nil {
		t.Fatalf("dovecottest: mailbox owner: %v", err)
	}
	names, err := userNames(o.Users)
	if err != nil {
		t.Fatalf("dovecottest: %v", err)
	}

	dir, err := os.MkdirTemp("/tmp", "dovecot")
	if err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := testlib.FreePort(t)
	d := &Dovecot{
		in:   instance{dir: dir, port: port, mailUser: mailUser},
		addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port)),
		done: make(chan struct{}),
		out:  &testlib.LogBuffer{},
	}
	if err := d.prepare(names, mu); err != nil {
		t.Fatalf("dovecottest: %v", err)
	}

	// -F: the master stays in the foreground as our child; its own
	// process group lets the cleanup stop its helpers too.
	d.cmd = exec.Command(dovecotBin, "-F", "-c", d.in.confFile())
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	// Pdeathsig: a test that times out runs no cleanup; the master then
	// still gets SIGTERM and stops its children.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("dovecottest: starting %s: %v", dovecotBin, err)
	}
	go func() {
		d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(d.stop)

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := d.waitReady(ctx); err != nil {
		t.Fatalf("dovecottest: Dovecot did not come up: %v\n%s", err, d.Log())
	}
	return d
}

// prepare writes the configuration and the users, and makes the home
// directory writable for the mailbox owner.
func (d *Dovecot) prepare(names []string, mu *user.User) error {
	in := d.in
	for _, p := range []string{in.baseDir(), in.stateDir(), in.homeDir()} {
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
	}
	// The instance directory is reachable for the mailbox owner.
	if err := os.Chmod(in.dir, 0o755); err != nil {
		return err
	}
	uid, _ := strconv.Atoi(mu.Uid)
	gid, _ := strconv.Atoi(mu.Gid)
	if err := os.Chown(in.homeDir(), uid, gid); err != nil {
		return err
	}
	if err := os.WriteFile(in.usersFile(), []byte(users(names)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(in.confFile(), []byte(in.config()), 0o644)
}

// userNames checks and lowercases the user names (the configuration looks
// users up with %Ln).
func userNames(us []string) ([]string, error) {
	var out []string
	for _, u := range us {
		if u == "" || strings.ContainsAny(u, ":@/\n\r\t ") || u == "." || u == ".." {
			return nil, fmt.Errorf("user name %q: must be non-empty, without ':', '@', '/' or spaces", u)
		}
		out = append(out, strings.ToLower(u))
	}
	return out, nil
}

// waitReady polls until both listeners greet with 220.
func (d *Dovecot) waitReady(ctx context.Context) error {
	targets := []struct{ network, addr string }{{"unix", d.in.socket()}, {"tcp", d.addr.String()}}
	for _, tg := range targets {
		for {
			err := greets(ctx, tg.network, tg.addr)
			if err == nil {
				break
			}
			select {
			case <-d.done:
				return fmt.Errorf("dovecot exited: %v", d.cmd.ProcessState)
			case <-ctx.Done():
				return fmt.Errorf("%s %s: %w", tg.network, tg.addr, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// greets connects to addr and reads a 220 greeting.
func greets(ctx context.Context, network, addr string) error {
	var dl net.Dialer
	c, err := dl.DialContext(ctx, network, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(buf[:n], []byte("220 ")) {
		return fmt.Errorf("greeting %q", buf[:n])
	}
	c.Write([]byte("QUIT\r\n"))
	return nil
}

// stop ends the master with SIGTERM (it stops its helpers), and kills the
// whole process group if it is still there after stopTimeout.
func (d *Dovecot) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(stopTimeout):
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
}

// Socket returns the path of the LMTP Unix socket.
func (d *Dovecot) Socket() string { return d.in.socket() }

// Addr returns the LMTP TCP address on 127.0.0.1.
func (d *Dovecot) Addr() netip.AddrPort { return d.addr }

// Messages returns the messages in user's Maildir (new/, then cur/), each
// in file name order; nil when there are none. A message is the file as
// Dovecot stored it, with its Return-Path and Delivered-To header lines.
func (d *Dovecot) Messages(user string) [][]byte {
	var msgs [][]byte
	md := filepath.Join(d.in.home(strings.ToLower(user)), "Maildir")
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(md, sub))
		if err != nil {
			continue
		}
		names := make([]string, 0, len(ents))
		for _, e := range ents {
			if e.Type().IsRegular() {
				names = append(names, e.Name())
			}
		}
		slices.Sort(names)
		for _, n := range names {
			if b, err := os.ReadFile(filepath.Join(md, sub, n)); err == nil {
				msgs = append(msgs, b)
			}
		}
	}
	return msgs
}

// Log returns Dovecot's log file and what the master wrote to its standard
// output and error.
func (d *Dovecot) Log() string {
	b, err := os.ReadFile(d.in.logFile())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		b = []byte(err.Error() + "\n")
	}
	return string(b) + d.out.String()
}
