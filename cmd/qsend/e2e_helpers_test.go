package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/store"
)

// qsendBin is the binary the end-to-end tests run, built once by TestMain.
var qsendBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qsend-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Other users run it too (TestOrdinaryUser).
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	qsendBin = filepath.Join(dir, "qsend")
	// Without -race: the end-to-end tests start hundreds of processes, and
	// the daemon's concurrency is raced in the in-process tests of package
	// daemon. QSEND_E2E_RACE=1 builds it with the race detector.
	args := []string{"build", "-o", qsendBin}
	if os.Getenv("QSEND_E2E_RACE") != "" {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building qsend:", err)
		os.Exit(1)
	}
	for name := range argv0Commands {
		if err := os.Symlink(qsendBin, filepath.Join(dir, name)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// site is one qsend installation in a temporary directory.
type site struct {
	t        *testing.T
	dir      string
	stateDir string
	control  string
	confFile string
	env      []string
	// cred, when set, runs run and queue as another user.
	cred *syscall.Credential
}

func newSite(t *testing.T) *site {
	t.Helper()
	dir := t.TempDir()
	s := &site{
		t:        t,
		dir:      dir,
		stateDir: filepath.Join(dir, "state"),
		control:  filepath.Join(dir, "control"),
		confFile: filepath.Join(dir, "qsend.yaml"),
	}
	if err := os.Mkdir(s.control, 0o755); err != nil {
		t.Fatal(err)
	}
	s.writeControl("me", "test.example\n")
	s.writeConfig("")
	s.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"QSEND_CONFIG=" + s.confFile,
	}
	return s
}

// procAttr runs a command as s.cred, killed if the test process dies (a
// test that times out runs no cleanup).
func (s *site) procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGKILL}
}

// writeConfig writes the YAML file: state_dir, control_dir, a resolver on
// loopback where nothing answers (tests never query the machine's
// resolver), then extra. Both channels are held (concurrency 0, as in
// qmail) unless extra sets them: these tests check the queue itself.
func (s *site) writeConfig(extra string) {
	s.t.Helper()
	if !strings.Contains(extra, "concurrencyremote:") {
		extra = "concurrencyremote: 0\n" + extra
	}
	if !strings.Contains(extra, "concurrencylocal:") {
		extra = "concurrencylocal: 0\n" + extra
	}
	s.writeRawConfig(extra)
}

// writeRawConfig writes the YAML file with only the site's paths, the
// loopback resolver and extra.
func (s *site) writeRawConfig(extra string) {
	s.t.Helper()
	if !strings.Contains(extra, "dns:") {
		extra = "dns:\n  resolvers: [\"127.0.0.1:9\"]\n" + extra
	}
	if !strings.Contains("\n"+extra, "\nsmtpd:") { // no listener unless the test wants one
		extra = "smtpd:\n  listen: []\n" + extra
	}
	if !strings.Contains("\n"+extra, "\nlocal:") { // local mail never goes to a real home
		extra = fmt.Sprintf("local:\n  maildir: %s/mail/{user}/Maildir/\n", s.dir) + extra
	}
	conf := fmt.Sprintf("state_dir: %s\ncontrol_dir: %s\nlog:\n  format: qmail\n%s", s.stateDir, s.control, extra)
	if err := os.WriteFile(s.confFile, []byte(conf), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *site) writeControl(name, content string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.control, name), []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// run runs qsend (or a qmail name linked to it) and returns its output and
// exit status.
func (s *site) run(stdin string, prog string, args ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	// Bounded: a command that should have failed must not hang the suite.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(filepath.Dir(qsendBin), prog), args...)
	cmd.Env = s.env
	cmd.SysProcAttr = s.procAttr()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), exitStatus(s.t, err)
}

func exitStatus(t *testing.T, err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("running qsend: %v", err)
	return -1
}

// mustRun runs qsend and fails the test unless it exits 0.
func (s *site) mustRun(args ...string) string {
	s.t.Helper()
	out, errOut, code := s.run("", "qsend", args...)
	if code != 0 {
		s.t.Fatalf("qsend %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// queue runs qmail-queue with message on fd 0 and envelope on fd 1, as
// qmail-smtpd and qmail-inject do, and returns its exit status.
func (s *site) queue(message string, envelope []byte, extraEnv ...string) (code int, stderr string) {
	s.t.Helper()
	f, err := os.CreateTemp(s.dir, "envelope-")
	if err != nil {
		s.t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(envelope); err != nil {
		s.t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(filepath.Dir(qsendBin), "qmail-queue"))
	cmd.Env = append(append([]string(nil), s.env...), extraEnv...)
	cmd.SysProcAttr = s.procAttr()
	cmd.Stdin = strings.NewReader(message)
	cmd.Stdout = f // fd 1 is read: the envelope
	var errb bytes.Buffer
	cmd.Stderr = &errb
	return exitStatus(s.t, cmd.Run()), errb.String()
}

// envelope builds qmail-queue's envelope.
func envelope(sender string, rcpts ...string) []byte {
	b := []byte("F" + sender + "\x00")
	for _, r := range rcpts {
		b = append(b, "T"+r+"\x00"...)
	}
	return append(b, 0)
}

// daemon is a running `qsend daemon`.
type daemonProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  *os.File
	done chan error
}

// startDaemon starts the daemon and waits until its socket answers.
func (s *site) startDaemon() *daemonProc {
	s.t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.dir, "daemon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(qsendBin, "daemon")
	cmd.Env = s.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	d := &daemonProc{t: s.t, cmd: cmd, log: logf, done: make(chan error, 1)}
	go func() { d.done <- cmd.Wait() }()
	s.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-d.done
		}
		logf.Close()
	})
	sock := ctl.LayoutOf(s.stateDir).Socket
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			return d
		}
		select {
		case err := <-d.done:
			s.t.Fatalf("daemon exited at start: %v\n%s", err, s.daemonLog())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("daemon did not open %s: %v\n%s", sock, err, s.daemonLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *site) daemonLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "daemon.log"))
	return string(b)
}

// stop sends sig and waits for the daemon to exit.
func (d *daemonProc) stop(sig syscall.Signal) error {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	select {
	case err := <-d.done:
		return err
	case <-ctx.Done():
		d.t.Fatalf("daemon did not exit after %v", sig)
		return nil
	}
}

// storedBody reads message id's body from the queue file.
func storedBody(st *store.Store, id store.ID) ([]byte, error) {
	r, err := st.Body(id)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
