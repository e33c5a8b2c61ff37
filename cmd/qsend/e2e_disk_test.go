package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/qsend/qsend/internal/ctl"
)

// TestDamagedQueueFile: the daemon and the CLI refuse a damaged queue file
// with an error naming it, and change nothing.
func TestDamagedQueueFile(t *testing.T) {
	s := newSite(t)
	d := s.startDaemon()
	if code, errOut := s.queue("Subject: x\n\nbody\n", envelope("a@b", "c@d")); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	db := ctl.LayoutOf(s.stateDir).Queue
	garbage := []byte(strings.Repeat("this is not a queue file ", 1000))
	if err := os.WriteFile(db, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := s.run("", "qsend", "daemon")
	if code == 0 || !strings.Contains(errOut, db) && !strings.Contains(s.daemonLog()+errOut, db) {
		t.Fatalf("daemon on a damaged file: exit %d: %s", code, errOut)
	}
	_, errOut, code = s.run("", "qsend", "queue", "list")
	if code != 1 || !strings.Contains(errOut, db) {
		t.Fatalf("queue list on a damaged file: exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(db); string(b) != string(garbage) {
		t.Fatal("the damaged file was changed")
	}
}

// TestFullDisk fills a small file system under state_dir: qmail-queue gets
// exit 53 (write error or disk full, temporary), never 0 for a message that
// was not stored, and every acknowledged message is still listed.
func TestFullDisk(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	s := newSite(t)
	if err := os.Mkdir(s.stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", s.stateDir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", s.stateDir).Run() })
	s.startDaemon()
	body := "Subject: fill\n\n" + strings.Repeat("0123456789abcdef", 4096) + "\n" // 64 KiB
	acked, code := 0, 0
	var errOut string
	for i := 0; i < 200 && code == 0; i++ {
		code, errOut = s.queue(body, envelope("fill@example.org", fmt.Sprintf("r%d@example.net", i)))
		if code == 0 {
			acked++
		}
	}
	if code != 53 {
		t.Fatalf("after %d messages: exit %d, want 53: %s", acked, code, errOut)
	}
	if acked == 0 {
		t.Fatal("nothing fit on the file system")
	}
	if got := s.listJSON(); len(got) != acked {
		t.Fatalf("%d acknowledged, %d listed", acked, len(got))
	}
	if entries, _ := os.ReadDir(filepath.Join(s.stateDir, "maildrop")); len(entries) != 0 {
		t.Fatalf("maildrop holds %d files", len(entries))
	}
	t.Logf("%d messages of 64 KiB acknowledged before the disk was full; then exit 53: %s", acked, strings.TrimSpace(errOut))
}
