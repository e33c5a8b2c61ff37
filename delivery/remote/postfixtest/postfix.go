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
	"bytes"
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
	"sync"
	"syscall"
	"testing"
	"time"
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
	exited chan error    // the master's exit, from the goroutine waiting for it
	output *lockedBuffer // the master's stdout and stderr
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

var errAddrInUse = errors.New("address in use")

// tools are the Postfix programs Start runs.
type tools struct {
	postfix, postconf, master string
}

func findTools() (tools, error) {
	var tl tools
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		if _, err := os.Stat(filepath.Join(dir, "postfix")); err == nil {
			tl.postfix = filepath.Join(dir, "postfix")
			tl.postconf = filepath.Join(dir, "postconf")
			break
		}
	}
	if tl.postfix == "" {
		p, err := exec.LookPath("postfix")
		if err != nil {
			return tl, err
		}
		tl.postfix = p
		tl.postconf = filepath.Join(filepath.Dir(p), "postconf")
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
	p := &Postfix{domain: o.Domain, root: root, output: &lockedBuffer{}}
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
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	p.addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))
	if err := p.setup(tl, o, port); err != nil {
		return nil, err
	}
	if err := p.run(tl); err != nil {
		return nil, err
	}
	return p, nil
}

// setup writes the configuration and lets Postfix create its queue
// directories with their owners and modes.
func (p *Postfix) setup(tl tools, o Options, port int) error {
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
	for _, d := range []string{"etc", "queue", "data", "mail"} {
		if err := os.Mkdir(filepath.Join(p.root, d), 0o755); err != nil {
			return fmt.Errorf("postfixtest: %w", err)
		}
	}
	// data_directory belongs to the mail owner (master.lock, TLS caches).
	for _, d := range []string{"data", "mail"} {
		if err := os.Chown(filepath.Join(p.root, d), uid, gid); err != nil {
			return fmt.Errorf("postfixtest: %w", err)
		}
	}
	if o.TLS {
		host := "mx." + o.Domain
		p.cert, err = writeCertificate(filepath.Join(p.root, "etc/cert.pem"), filepath.Join(p.root, "etc/key.pem"), host)
		if err != nil {
			return err
		}
	}
	files := map[string]string{
		"main.cf":   mainCF(p.root, o, uid, gid),
		"master.cf": masterCF(port),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(p.root, "etc", name), []byte(text), 0o644); err != nil {
			return fmt.Errorf("postfixtest: %w", err)
		}
	}
	// "postfix check" creates the missing queue directories with the owners
	// and modes of postfix-files (post-install create-missing). As root,
	// -c needs no alternate_config_directories entry in /etc/postfix.
	out, err := exec.Command(tl.postfix, "-c", p.etc(), "check").CombinedOutput()
	if err != nil {
		return fmt.Errorf("postfixtest: postfix -c %s check: %w\n%s", p.etc(), err, out)
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
	cmd.Stdout = p.output
	cmd.Stderr = p.output
	// Its own session and process group, so that stopping it can reach
	// every process it forked and nothing else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
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

// stop terminates the master, which passes SIGTERM on to its children,
// and waits until the whole process group is gone.
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
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
	// Children may outlive the master by a moment; wait before their
	// files are removed.
	for deadline := time.Now().Add(stopTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if syscall.Kill(-pgid, 0) == syscall.ESRCH {
			return err
		}
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	return err
}

// Addr returns the address the instance's SMTP server listens on.
func (p *Postfix) Addr() netip.AddrPort { return p.addr }

// Domain returns the domain the instance accepts mail for.
func (p *Postfix) Domain() string { return p.domain }

// Certificate returns the self-signed certificate the instance offers
// with STARTTLS, or nil without Options.TLS.
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
	if out := p.output.String(); out != "" {
		b = append(b, "master output:\n"+out...)
	}
	return string(b)
}

func (p *Postfix) etc() string { return filepath.Join(p.root, "etc") }

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("postfixtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedBuffer collects a process's output written from exec's copying
// goroutine while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
