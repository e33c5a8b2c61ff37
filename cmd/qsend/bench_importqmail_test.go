package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestImportQmailBench measures qsend import-qmail on N messages of a
// qmail queue as a stopped qmail-send leaves it (info, remote with one
// recipient done and one not, a 2 KB message; split 23), written in
// qmail-send's formats: into the queue file with the daemon stopped, and
// through the maildrop with it running (until the daemon has queued them
// all). Run by scripts/bench-import-qmail.
func TestImportQmailBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("QSEND_BENCH_IMPORT"))
	if n <= 0 {
		t.Skip("set QSEND_BENCH_IMPORT to the number of messages (scripts/bench-import-qmail)")
	}
	qdir := syntheticQmailQueue(t, n)
	for _, running := range []bool{false, true} {
		name := map[bool]string{false: "daemon stopped", true: "daemon running"}[running]
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			s := newSite(t)
			d := s.startDaemon()
			if !running {
				if err := d.stop(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			out, errOut, code := s.run("", "qsend", "import-qmail", qdir)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			if running {
				for {
					names, _ := os.ReadDir(filepath.Join(s.stateDir, "maildrop"))
					if len(names) == 0 {
						break
					}
					if time.Since(start) > 10*time.Minute {
						t.Fatalf("%d maildrop files left", len(names))
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			elapsed := time.Since(start)
			if got := len(s.listJSON()); got != n {
				t.Fatalf("%d messages queued, want %d", got, n)
			}
			t.Logf("BENCH import-qmail of %d messages, %s: %v, %.0f msgs/s", n, name, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
		})
	}
}

// syntheticQmailQueue writes n preprocessed messages in qmail's formats
// (qmail-send.c todo_do and markdone; fmtqfn.c's split names).
func syntheticQmailQueue(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "queue")
	const split = 23
	for _, d := range []string{"mess", "info", "local", "remote"} {
		for s := 0; s < split; s++ {
			if err := os.MkdirAll(filepath.Join(dir, d, strconv.Itoa(s)), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, d := range []string{"todo", "intd", "bounce", "lock"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	body := "Received: (qmail 1 invoked by uid 1000); 3 Dec 2026 10:00:00 -0000\nSubject: bench\n\n" + strings.Repeat("0123456789abcdef\n", 2048/17) + "\n"
	born := time.Now().Add(-time.Hour)
	for i := 0; i < n; i++ {
		num := strconv.Itoa(100000 + i)
		s := strconv.Itoa((100000 + i) % split)
		files := map[string]string{
			"mess":   body,
			"info":   "Fsender" + num + "@example.org\x00",
			"remote": "Ddone" + num + "@example.net\x00Tuser" + num + "@example.net\x00",
		}
		for d, content := range files {
			p := filepath.Join(dir, d, s, num)
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if d == "info" {
				os.Chtimes(p, born, born)
			}
		}
	}
	return dir
}
