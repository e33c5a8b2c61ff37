package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/store"
)

// realQmailQueue makes a queue with notqmail's own qmail-inject,
// qmail-queue and qmail-send (scripts/qmail-queue-fixture, which says what
// it holds) and returns its folder.
func realQmailQueue(t *testing.T) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("making a real qmail queue needs root (qmail's users, a private mount namespace)")
	}
	root := t.TempDir()
	// qmail's users deliver below it: they must reach it.
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a first build of notqmail included
	defer cancel()
	cmd := exec.CommandContext(ctx, "../../scripts/qmail-queue-fixture", root, strconv.Itoa(testlib.FreePort(t)))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/qmail-queue-fixture: %v\n%s", err, out)
	}
	return filepath.Join(root, "qmail", "queue")
}

// listedBySubject maps each queued message's Subject to its listing.
func (s *site) queuedBySubject() map[string]listedMessage {
	s.t.Helper()
	out := map[string]listedMessage{}
	for _, m := range s.listJSON() {
		shown := s.mustRun("queue", "show", m.ID.String())
		subj := "?"
		for _, l := range strings.Split(shown, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Subject: "); ok {
				subj = v
				break
			}
		}
		out[subj] = m
	}
	return out
}

func addresses(m listedMessage) []string {
	var out []string
	for _, r := range m.Recipients {
		out = append(out, r.Address+"="+r.State)
	}
	slices.Sort(out)
	return out
}

func TestImportQmail(t *testing.T) {
	qdir := realQmailQueue(t)
	// qmail's birth is the info file's mtime: put it in the past, where
	// an import that used the time of import would show.
	born := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	infos, err := filepath.Glob(filepath.Join(qdir, "info", "*", "*"))
	if err != nil || len(infos) != 2 {
		t.Fatalf("info files: %v %v", infos, err)
	}
	for _, f := range infos {
		if err := os.Chtimes(f, born, born); err != nil {
			t.Fatal(err)
		}
	}
	// A damaged entry: a message whose info file is cut short.
	const bad = 999
	if err := os.WriteFile(filepath.Join(qdir, "mess", strconv.Itoa(bad%23), strconv.Itoa(bad)), []byte("Subject: bad\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badInfo := filepath.Join(qdir, "info", strconv.Itoa(bad%23), strconv.Itoa(bad))
	if err := os.WriteFile(badInfo, []byte("Fcut@short"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, qdir)

	s := newSite(t)
	s.writeControl("locals", "test.example\n")
	d := s.startDaemon()
	if err := d.stop(syscall.SIGTERM); err != nil { // set up, then stopped: the queue file is opened directly
		t.Fatal(err)
	}

	out, errOut, code := s.run("", "qsend", "import-qmail", "--dry-run", qdir)
	if code != 1 || !strings.Contains(out, "would import 3 messages and 1 bounces") || !strings.Contains(out, badInfo) {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if got := s.listJSON(); len(got) != 0 {
		t.Fatalf("the dry run queued %d messages", len(got))
	}

	// qmail-send running (its lock held): refused unless --force.
	mutex, err := os.OpenFile(filepath.Join(qdir, "lock", "sendmutex"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(mutex.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = s.run("", "qsend", "import-qmail", qdir)
	if code != 111 || !strings.Contains(errOut, "lock/sendmutex") || !strings.Contains(errOut, "--force") {
		t.Fatalf("with sendmutex held: exit %d: %s", code, errOut)
	}
	mutex.Close()

	out, errOut, code = s.run("", "qsend", "import-qmail", qdir)
	if code != 1 || !strings.Contains(out, "imported 3 messages and 1 bounces") || !strings.Contains(out, "1 damaged") || !strings.Contains(out, badInfo) {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	got := s.queuedBySubject()
	want := map[string][]string{
		"remote":         {"far@remote.example=pending"},
		"partial":        {"near@remote.example=pending"}, // local@ was delivered, nosuch@ bounced
		"todo":           {"later@remote.example=pending"},
		"failure notice": {"sender@test.example=pending"},
	}
	if len(got) != len(want) {
		t.Fatalf("queued %d messages, want %d: %+v", len(got), len(want), got)
	}
	for subj, rcpts := range want {
		m, ok := got[subj]
		if !ok || !slices.Equal(addresses(m), rcpts) {
			t.Errorf("message %q: %+v, want recipients %v", subj, m, rcpts)
			continue
		}
		if subj != "failure notice" && m.Sender != "sender@test.example" {
			t.Errorf("message %q: sender %q", subj, m.Sender)
		}
	}
	if m := got["failure notice"]; m.Sender != "" {
		t.Errorf("the bounce's sender is %q, want <>", m.Sender)
	}
	st, err := store.Open(ctl.LayoutOf(s.stateDir).Queue, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	body, err := storedBody(st, got["failure notice"].ID)
	st.Close()
	if err != nil || !strings.Contains(string(body), "<nosuch@test.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n") ||
		!strings.Contains(string(body), "Subject: partial") {
		t.Errorf("the bounce does not carry qmail's report and the message (%v):\n%s", err, body)
	}
	for _, subj := range []string{"remote", "partial"} {
		if m := got[subj]; !m.ArrivalTime.Equal(born) {
			t.Errorf("message %q arrived %v; qmail's birth is %v", subj, m.ArrivalTime, born)
		}
	}

	// Again, with the daemon running: through the maildrop, nothing twice.
	d = s.startDaemon()
	out, errOut, code = s.run("", "qsend", "import-qmail", qdir)
	if code != 1 {
		t.Fatalf("second import: exit %d\n%s%s", code, out, errOut)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		names, _ := os.ReadDir(filepath.Join(s.stateDir, "maildrop"))
		if len(names) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon left %d maildrop files", len(names))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(s.listJSON()); n != len(want) {
		t.Fatalf("after importing twice: %d messages, want %d\n%s", n, len(want), s.daemonLog())
	}
	d.stop(syscall.SIGTERM)
	if after := snapshot(t, qdir); !slices.Equal(before, after) {
		t.Errorf("the qmail queue changed without --remove:\nbefore %v\nafter  %v", before, after)
	}

	// --remove: what was imported leaves the qmail queue; the damaged
	// entry stays.
	if _, errOut, code := s.run("", "qsend", "import-qmail", "--remove", qdir); code != 1 {
		t.Fatalf("--remove: exit %d: %s", code, errOut)
	}
	left, _ := filepath.Glob(filepath.Join(qdir, "mess", "*", "*"))
	if len(left) != 1 || filepath.Base(left[0]) != strconv.Itoa(bad) {
		t.Errorf("after --remove: %v left in mess/", left)
	}
}

// snapshot lists the queue's files with their sizes and times.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p+" "+strconv.FormatInt(fi.Size(), 10)+" "+fi.ModTime().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSecondDaemonRefused(t *testing.T) {
	s := newSite(t)
	d := s.startDaemon()
	_, errOut, code := s.run("", "qsend", "daemon")
	pid := strconv.Itoa(d.cmd.Process.Pid)
	if code == 0 || !strings.Contains(errOut, "pid "+pid) {
		t.Fatalf("a second daemon: exit %d, stderr %q; want a failure naming pid %s", code, errOut, pid)
	}
}
