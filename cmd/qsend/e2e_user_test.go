package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOrdinaryUser checks the permission model: any local user can submit
// mail while the daemon runs (through the maildrop, since the control socket
// is mode 0660) and its uid is recorded, but cannot read the queue.
func TestOrdinaryUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run commands as another user")
	}
	const nobody = 65534
	s := newSite(t)
	// Let the other user reach the configuration.
	for dir := s.dir; dir != filepath.Dir(dir) && strings.HasPrefix(dir, os.TempDir()+"/"); dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.startDaemon()
	s.cred = &syscall.Credential{Uid: nobody, Gid: nobody}
	if code, errOut := s.queue("Subject: from nobody\n\nhello\n", envelope("nobody@test.example", "root@test.example")); code != 0 {
		t.Fatalf("qmail-queue as uid %d: exit %d: %s", nobody, code, errOut)
	}
	_, errOut, code := s.run("", "qsend", "queue", "list")
	if code == 0 || !strings.Contains(errOut, "permission denied") {
		t.Fatalf("queue list as uid %d: exit %d: %s", nobody, code, errOut)
	}
	s.cred = nil
	waitFor(t, "the maildrop import", func() bool { return len(s.listJSON()) == 1 })
	m := s.listJSON()[0]
	show := s.mustRun("queue", "show", m.ID.String())
	for _, want := range []string{"intake:   maildrop uid 65534", "invoked by uid 65534); "} {
		if !strings.Contains(show, want) {
			t.Errorf("queue show lacks %q:\n%s", want, show)
		}
	}
}
