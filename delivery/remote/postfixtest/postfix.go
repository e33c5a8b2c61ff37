// Package postfixtest runs a private Postfix instance on loopback as a
// receiving MX for tests of qsend's remote delivery against a real
// third-party SMTP server.
//
// Each instance has its own configuration, queue, data and Maildir
// directories under one temporary directory and its own master process; it
// reads and changes nothing under /etc/postfix, so instances run in
// parallel with each other and with a system Postfix. Postfix needs root
// for this; Start skips the test when not root or when Postfix is not
// installed (scripts/test installs it on Debian).
package postfixtest

import (
	"bufio"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qsend/qsend/internal/testlib"
)

// Options configures an instance.
type Options struct {
	// Domain is the domain Postfix accepts as final destination, any
	// local part, e.g. "pf.test". Mail for other domains is refused as
	// relaying (554 5.7.1). Empty means "pf.test".
	Domain string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// TLS offers STARTTLS with a self-signed certificate for
	// "mx."+Domain (smtpd_tls_security_level = may).
	TLS bool
	// CertPEM and KeyPEM, when both are set with TLS, are the certificate
	// (followed by any intermediates) and private key Postfix presents
	// instead of the self-signed one (smtpd_tls_cert_file,
	// smtpd_tls_key_file): a certificate from a CA made by the test.
	CertPEM, KeyPEM []byte
	// Main holds extra main.cf settings that override the instance's,
	// e.g. {"smtpd_forbid_bare_newline": "reject"} or
	// {"message_size_limit": "100000"}.
	Main map[string]string
}

// Postfix is a running instance.
type Postfix struct {
	domain string
	root   string
	addr   netip.AddrPort
	cert   *x509.Certificate
	master *exec.Cmd
	exited chan error // the master's exit, from the goroutine waiting for it
}

const (
	startTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
	// portAttempts bounds retries when a picked free port is taken by
	// someone else before the master binds it.
	portAttempts = 3
)

// Start runs a private Postfix instance and stops it and removes its
// files in t.Cleanup. It returns once the instance greets on Addr. It
// skips the test when not root or when Postfix is not installed, and fails
// it when Postfix does not come up.
func Start(t testing.TB, o Options) *Postfix {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("postfixtest: a private Postfix instance needs root (master binds and drops privileges)")
	}
	tools, err := findTools()
	if err != nil {
		t.Skipf("postfixtest: Postfix is not installed (scripts/test installs it): %v", err)
	}
	if o.Domain == "" {
		o.Domain = "pf.test"
	}
	var lastErr error
	for range portAttempts {
		p, err := start(t, tools, o)
		if err == nil {
			return p
		}
		lastErr = err
		if o.Port != 0 || !errors.Is(err, errAddrInUse) {
			break
		}
	}
	t.Fatalf("%v", lastErr)
	return nil
}

// errAddrInUse marks a start that failed because the port was taken.
var errAddrInUse = errors.New("address in use")

// tools are the Postfix programs Start runs.
type tools struct {
	postconf, master string
}

// findTools finds postconf and, through it, the master daemon.
func findTools() (tools, error) {
	var tl tools
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		if _, err := os.Stat(filepath.Join(dir, "postconf")); err == nil {
			tl.postconf = filepath.Join(dir, "postconf")
			break
		}
	}
	if tl.postconf == "" {
		p, err := exec.LookPath("postconf")
		if err != nil {
			return tl, err
		}
		tl.postconf = p
	}
	// -d: the compiled-in default, not whatever /etc/postfix/main.cf says.
	out, err := exec.Command(tl.postconf, "-dh", "daemon_directory").Output()
	if err != nil {
		return tl, fmt.Errorf("%s -dh daemon_directory: %w", tl.postconf, err)
	}
	tl.master = filepath.Join(strings.TrimSpace(string(out)), "master")
	if _, err := os.Stat(tl.master); err != nil {
		return tl, err
	}
	return tl, nil
}

func start(t testing.TB, tl tools, o Options) (*Postfix, error) {
	// Not t.TempDir(): long test names would push the queue directory's
	// socket paths past the 108 bytes of sun_path.
	root, err := os.MkdirTemp("", "pf")
	if err != nil {
		return nil, fmt.Errorf("postfixtest: %w", err)
	}
	p := &Postfix{domain: o.Domain, root: root}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("%v\n%s", err, p.Log())
		}
		if err := os.RemoveAll(root); err != nil {
			t.Errorf("postfixtest: %v", err)
		}
	})
	port := o.Port
	if port == 0 {
		port = testlib.FreePort(t)
	}
	p.addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))
	if err := p.setup(t, o, port); err != nil {
		return nil, err
	}
	if err := p.run(tl); err != nil {
		return nil, err
	}
	return p, nil
}

// setup creates the instance's directories and writes its configuration.
func (p *Postfix) setup(t testing.TB, o Options, port int) error {
	// Delivery agents run as the mail owner and reach the Maildir by its
	// absolute path, so the root must be searchable by them.
	if err := os.Chmod(p.root, 0o755); err != nil {
		return fmt.Errorf("postfixtest: %w", err)
	}
	owner, err := user.Lookup("postfix")
	if err != nil {
		return fmt.Errorf("postfixtest: mail owner: %w", err)
	}
	uid, _ := strconv.Atoi(owner.Uid)
	gid, _ := strconv.Atoi(owner.Gid)
	group, err := user.LookupGroup("postdrop")
	if err != nil {
		return fmt.Errorf("postfixtest: setgid group: %w", err)
	}
	postdrop, _ := strconv.Atoi(group.Gid)
	if err := makeDirs(p.root, uid, gid, postdrop); err != nil {
		return err
	}
	switch {
	case o.TLS && len(o.CertPEM) > 0 && len(o.KeyPEM) > 0:
		p.cert, err = writeGivenCertificate(filepath.Join(p.root, "etc/cert.pem"), filepath.Join(p.root, "etc/key.pem"), o.CertPEM, o.KeyPEM)
		if err != nil {
			return err
		}
	case o.TLS:
		host := "mx." + o.Domain
		p.cert, err = writeCertificate(t, filepath.Join(p.root, "etc/cert.pem"), filepath.Join(p.root, "etc/key.pem"), host)
		if err != nil {
			return err
		}
	}
	files := map[string]string{
		"main.cf":   mainCF(p.root, o, uid, gid),
		"master.cf": masterCF(port),
	}
	// Postfix waits until main.cf is older than its clock's second before
	// it reads it (a file still being edited); date the files back so the
	// master starts at once instead of after a second or two.
	past := time.Now().Add(-10 * time.Second)
	for name, text := range files {
		path := filepath.Join(p.root, "etc", name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return fmt.Errorf("postfixtest: %w", err)
		}
		if err := os.Chtimes(path, past, past); err != nil {
			return fmt.Errorf("postfixtest: %w", err)
		}
	}
	return nil
}

// run starts the master in the foreground as a child of the test process
// and waits for the SMTP greeting.
func (p *Postfix) run(tl tools) error {
	cmd := exec.Command(tl.master, "-c", p.etc())
	// The master's environment is what its children get (import_environment
	// passes MAIL_CONFIG on); without MAIL_CONFIG they would read
	// /etc/postfix and connect to the default queue's sockets.
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+p.etc())
	// A file, not a pipe: the children inherit it, and Wait would wait for
	// a pipe until the last of them exits.
	out, err := os.Create(filepath.Join(p.root, "master.out"))
	if err != nil {
		return fmt.Errorf("postfixtest: %w", err)
	}
	defer out.Close()
	cmd.Stdout = out
	cmd.Stderr = out
	// Its own session and process group, so that stopping it can reach
	// every process it forked and nothing else.
	// Pdeathsig: a test that times out runs no cleanup; the master then
	// still gets SIGTERM and stops its children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("postfixtest: %s: %w", tl.master, err)
	}
	p.master = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := time.Now().Add(startTimeout)
	for {
		err := greets(p.addr)
		if err == nil {
			// The waiting goroutine ends when stop ends the master.
			p.exited = exited
			return nil
		}
		select {
		case werr := <-exited:
			p.master = nil
			log := p.Log()
			if strings.Contains(log, "Address already in use") {
				return fmt.Errorf("postfixtest: master exited (%v): port %d: %w\n%s", werr, p.addr.Port(), errAddrInUse, log)
			}
			return fmt.Errorf("postfixtest: master exited before greeting on %s: %v\n%s", p.addr, werr, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.exited = exited
			return fmt.Errorf("postfixtest: no greeting on %s within %v: %v\n%s", p.addr, startTimeout, err, p.Log())
		}
	}
}

// greets connects to addr and reads a 220 greeting (RFC 5321 §4.3.1).
func greets(addr netip.AddrPort) error {
	c, err := net.DialTimeout("tcp", addr.String(), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("greeting: %q", line)
	}
	c.Write([]byte("QUIT\r\n"))
	return nil
}

// stop terminates the master and then kills what is left of its process
// group: the instance and its files are thrown away, so its delivery
// agents need no time to finish (they take about two seconds after the
// master's SIGTERM).
func (p *Postfix) stop() error {
	if p.master == nil || p.exited == nil {
		return nil
	}
	pgid := p.master.Process.Pid
	syscall.Kill(pgid, syscall.SIGTERM)
	var err error
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		err = fmt.Errorf("postfixtest: master %d did not stop within %v; killed", pgid, stopTimeout)
		syscall.Kill(pgid, syscall.SIGKILL)
		<-p.exited
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	for deadline := time.Now().Add(stopTimeout); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if !groupRunning(pgid) {
			return err
		}
	}
	return errors.Join(err, fmt.Errorf("postfixtest: processes of group %d still alive after SIGKILL", pgid))
}

// groupRunning reports whether a process of group pgid is still running.
// The orphaned children are reaped by init, which may take a second or two,
// so zombies (which hold no files) count as gone; kill(-pgid, 0) would
// still see them.
func groupRunning(pgid int) bool {
	if syscall.Kill(-pgid, 0) == syscall.ESRCH {
		return false
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range procs {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		state, group, ok := procState(string(b))
		if ok && group == pgid && state != "Z" {
			return true
		}
	}
	return false
}

// procState returns the state and process group from the text of
// /proc/PID/stat (proc(5): "pid (comm) state ppid pgrp ..."; comm may
// contain spaces and parentheses, so fields count from the last ')').
func procState(stat string) (state string, pgrp int, ok bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 3 {
		return "", 0, false
	}
	pgrp, err := strconv.Atoi(f[2])
	return f[0], pgrp, err == nil
}

// Addr returns the address the instance's SMTP server listens on.
func (p *Postfix) Addr() netip.AddrPort { return p.addr }

// Domain returns the domain the instance accepts mail for.
func (p *Postfix) Domain() string { return p.domain }

// Certificate returns the certificate the instance offers with STARTTLS
// (Options.CertPEM's first, or the self-signed one), or nil without
// Options.TLS.
func (p *Postfix) Certificate() *x509.Certificate { return p.cert }

// Dir returns the instance's directory: etc (main.cf, master.cf), queue,
// data, mail (the Maildir is mail/inbox) and maillog.
func (p *Postfix) Dir() string { return p.root }

// Log returns the instance's maillog_file and anything the master wrote
// to its standard output and error, for failure messages.
func (p *Postfix) Log() string {
	b, err := os.ReadFile(filepath.Join(p.root, "maillog"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		b = []byte(err.Error() + "\n")
	}
	if out, _ := os.ReadFile(filepath.Join(p.root, "master.out")); len(out) > 0 {
		b = append(b, "master output:\n"...)
		b = append(b, out...)
	}
	return string(b)
}

func (p *Postfix) etc() string { return filepath.Join(p.root, "etc") }
