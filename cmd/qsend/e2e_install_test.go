package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/intake/maildrop"
)

// install runs qsend install --root root with args, without any
// configuration of the test's own.
func install(t *testing.T, root string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, qsendBin, append([]string{"install", "--root", root}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), exitStatus(t, err)
}

func TestInstall(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("install gives state_dir to the qsend user: needs root")
	}
	root := t.TempDir()
	write := func(path, content string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nqmaild:x:100:100::/var/qmail:/bin/false\n", 0o644)
	write("etc/group", "root:x:0:\nqmail:x:100:\n", 0o644)
	write("usr/sbin/sendmail", "another MTA's sendmail\n", 0o755)
	write("var/qmail/bin/qmail-queue", "qmail's qmail-queue\n", 0o711)

	out, code := install(t, root, "--qmail-links")
	if code != 0 {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"created group qsend (gid 101)", "created user qsend (uid 101)",
		"moved " + root + "/usr/sbin/sendmail aside to " + root + "/usr/sbin/sendmail.pre-qsend",
		"moved " + root + "/var/qmail/bin/qmail-queue aside to " + root + "/var/qmail/bin/qmail-queue.qmail",
		"left to do:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if !strings.Contains(string(passwd), "\nqsend:x:101:101:qsend mail transfer agent:/var/spool/qsend:/usr/sbin/nologin\n") {
		t.Errorf("etc/passwd:\n%s", passwd)
	}
	for _, f := range []struct {
		path string
		mode os.FileMode
		uid  uint32
	}{
		{"var/spool/qsend", os.ModeDir | 0o755, 101},
		{"var/spool/qsend/maildrop", os.ModeDir | maildrop.DirMode, 101},
		{"var/spool/qsend/tmp", os.ModeDir | 0o700, 101},
		{"var/spool/qsend/trigger", os.ModeNamedPipe | 0o622, 101},
		{"etc/qsend/qsend.yaml", 0o644, 0},
		{"etc/systemd/system/qsend.service", 0o644, 0},
		{"etc/qsend/service/run", 0o755, 0},
		{"etc/qsend/service/log/run", 0o755, 0},
		{"usr/share/man/man8/qsend.8", 0o644, 0},
		{"usr/share/man/man5/qsend.yaml.5", 0o644, 0},
		{"usr/local/bin/qsend", 0o755, 0},
	} {
		fi, err := os.Lstat(filepath.Join(root, f.path))
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
			continue
		}
		if fi.Mode() != f.mode || fi.Sys().(*syscall.Stat_t).Uid != f.uid {
			t.Errorf("%s: mode %v uid %d; want %v uid %d", f.path, fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid, f.mode, f.uid)
		}
	}
	for _, l := range []string{"usr/sbin/sendmail", "usr/lib/sendmail", "usr/bin/mailq", "usr/bin/newaliases",
		"var/qmail/bin/qmail-queue", "var/qmail/bin/qmail-inject", "var/qmail/bin/qmail-smtpd",
		"var/qmail/bin/qmail-qread", "var/qmail/bin/qmail-qstat", "var/qmail/bin/sendmail"} {
		if target, err := os.Readlink(filepath.Join(root, l)); err != nil || target != "/usr/local/bin/qsend" {
			t.Errorf("%s -> %q, %v", l, target, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "var/qmail/bin/qmail-queue.qmail")); string(b) != "qmail's qmail-queue\n" {
		t.Errorf("qmail's qmail-queue was not kept: %q", b)
	}
	unit, _ := os.ReadFile(filepath.Join(root, "etc/systemd/system/qsend.service"))
	for _, want := range []string{"ExecStart=/usr/local/bin/qsend daemon\n", "ReadWritePaths=/var/spool/qsend /var/qmail/control\n", "ProtectSystem=full\n", "PrivateTmp=true\n"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q:\n%s", want, unit)
		}
	}
	c, err := config.Load(config.Options{File: filepath.Join(root, "etc/qsend/qsend.yaml"), UID: -1, Hostname: "h.example",
		Environ: []string{"QSEND_CONTROL_DIR=/nonexistent"}})
	if err != nil || c.StateDir != "/var/spool/qsend" {
		t.Errorf("the installed qsend.yaml: %v, state_dir %v", err, c)
	}

	// Idempotent: nothing changes, and it says so; an edited qsend.yaml
	// is kept.
	write("etc/qsend/qsend.yaml", "concurrencyremote: 5\n", 0o644)
	out, code = install(t, root, "--qmail-links")
	if code != 0 || !strings.Contains(out, "nothing to change") || strings.Count(out, "\n") != 3 {
		t.Fatalf("second install: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/qsend/qsend.yaml")); string(b) != "concurrencyremote: 5\n" {
		t.Errorf("qsend.yaml was not kept: %q", b)
	}

	// The installed queue is set up: intake leaves mail in its maildrop.
	s := newSite(t)
	s.writeRawConfig("")
	s.env = append(s.env, "QSEND_STATE_DIR="+filepath.Join(root, "var/spool/qsend"))
	if code, errOut := s.queue("Subject: x\n\nbody\n", envelope("a@example.org", "b@example.net")); code != 0 {
		t.Fatalf("qmail-queue into the installed queue: exit %d: %s", code, errOut)
	}
}
