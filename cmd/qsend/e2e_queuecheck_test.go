package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/store"
	"go.etcd.io/bbolt"
)

// corruptRecords overwrites, inside the queue file, the length byte of
// the recipient address of each message in ids (every copy of it: bbolt
// may keep old copies in free pages), so the records no longer decode
// while bbolt's pages stay intact, as damage on the disk would leave them.
func corruptRecords(t *testing.T, path string, ids ...store.ID) {
	t.Helper()
	st, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, id := range ids {
		m, err := st.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, m.Recipients[0].Addr)
	}
	st.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range addrs {
		// The stored string is its length, then its bytes.
		needle := append([]byte{byte(len(addr))}, addr...)
		n := 0
		for off := 0; ; {
			i := bytes.Index(data[off:], needle)
			if i < 0 {
				break
			}
			data[off+i] = 0xff
			off += i + len(needle)
			n++
		}
		if n == 0 {
			t.Fatalf("record of %s not found in the file", addr)
		}
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// filledSite is a site whose queue file holds n messages, and that file.
func filledSite(t *testing.T, n int) (*site, string) {
	s := newSite(t)
	db := ctl.LayoutOf(s.stateDir).Queue
	fill(t, db, n, 5)
	return s, db
}

// checkClean fails the test unless `queue check` finds nothing.
func (s *site) checkClean() {
	s.t.Helper()
	if out := s.mustRun("queue", "check"); !strings.Contains(out, "0 problems") {
		s.t.Errorf("queue check after the repair:\n%s", out)
	}
}

// listed runs `queue list --json` and returns how many messages it listed,
// its stderr and its exit status.
func (s *site) listed() (int, string, int) {
	s.t.Helper()
	out, errOut, code := s.run("", "qsend", "queue", "list", "--json")
	return strings.Count(out, "\n"), errOut, code
}

func TestCorruptRecordCanBeCleared(t *testing.T) {
	s, db := filledSite(t, 2000)
	corruptRecords(t, db, 115)

	metricsAddr := testlib.FreeAddr(t)
	s.writeConfig(fmt.Sprintf("metrics:\n  listen: %q\n", metricsAddr))
	d := s.startDaemon()
	// The records are checked beside delivery, just after start.
	waitFor(t, "the start-up warning about message 115", func() bool {
		return strings.Contains(s.daemonLog(), "queue file damaged id=115 ")
	})
	waitFor(t, "the damage counted in /metrics", func() bool {
		return strings.Contains(metrics(t, metricsAddr), "\nqsend_queue_damage_found 1\n")
	})
	n, errOut, code := s.listed()
	t.Logf("queue list after corrupting 1 of 2000 records: %d listed, exit %d, stderr:\n%s", n, code, errOut)
	if n != 1999 || code != 1 || !strings.Contains(errOut, "message 115: malformed record") {
		t.Errorf("queue list: %d listed, exit %d, stderr %q", n, code, errOut)
	}
	_, errOut, code = s.run("", "qsend", "queue", "show", "115")
	if code != 1 || !strings.Contains(errOut, "message 115: malformed record") || !strings.Contains(errOut, "queue delete") {
		t.Errorf("queue show 115: exit %d: %q", code, errOut)
	}
	// Through the daemon: the record, and the counters that still count it.
	out, _, code := s.run("", "qsend", "queue", "check")
	if code != 1 || strings.Count(out, "malformed record") != 1 || !strings.Contains(out, "2000 messages; 2 problems, 0 repaired, 2 left") {
		t.Errorf("queue check through the daemon: exit %d:\n%s", code, out)
	}
	if _, errOut, code = s.run("", "qsend", "queue", "check", "--repair"); code != 1 || !strings.Contains(errOut, "daemon is running") {
		t.Errorf("queue check --repair with the daemon running: exit %d: %q", code, errOut)
	}
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	out, _, code = s.run("", "qsend", "queue", "check")
	if code != 1 || !strings.Contains(out, "message 115: malformed record") || !strings.Contains(out, "2 left") {
		t.Errorf("queue check: exit %d:\n%s", code, out)
	}
	out, _, code = s.run("", "qsend", "queue", "check", "--repair")
	t.Logf("queue check --repair:\n%s", out)
	if code != 0 || !strings.Contains(out, "message 115: malformed record") || !strings.Contains(out, "quarantine") ||
		!strings.Contains(out, "1999 messages; 2 problems, 2 repaired, 0 left") {
		t.Errorf("queue check --repair: exit %d:\n%s", code, out)
	}
	s.checkClean()
	before := len(s.daemonLog())
	s.startDaemon()
	if n, errOut, code = s.listed(); n != 1999 || code != 0 {
		t.Errorf("after the repair and a restart: %d listed, exit %d: %s", n, code, errOut)
	}
	if log := s.daemonLog()[before:]; strings.Contains(log, "damaged") {
		t.Errorf("warnings after the repair:\n%s", log)
	}
	if out = s.mustRun("queue", "stat"); !strings.Contains(out, "messages in queue: 1999") {
		t.Errorf("queue stat: %s", out)
	}
}

func TestCorruptRecordDeleted(t *testing.T) {
	s, db := filledSite(t, 300)
	// 100 is deleted through the daemon, 200 with the daemon stopped.
	corruptRecords(t, db, 100, 200)
	d := s.startDaemon()
	s.mustRun("queue", "delete", "100")
	n, errOut, code := s.listed()
	if n != 298 || code != 1 || strings.Contains(errOut, "message 100") || !strings.Contains(errOut, "message 200: ") {
		t.Errorf("after deleting the damaged 100: %d listed, exit %d, stderr %q", n, code, errOut)
	}
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.mustRun("queue", "delete", "200")
	s.checkClean()
	if n, errOut, code = s.listed(); n != 298 || code != 0 {
		t.Errorf("after both deletes: %d listed, exit %d: %s", n, code, errOut)
	}
}

func TestQueueZeroedMetaPage(t *testing.T) {
	s, db := filledSite(t, 50)
	// bbolt writes transaction N's meta page to page N%2. When page 0 holds
	// the last transaction, one empty write transaction moves the newest
	// meta to page 1, so that page 0 holds the one before it, with the same
	// messages, and zeroing it loses nothing.
	bdb, err := bbolt.Open(db, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var txid int
	bdb.View(func(tx *bbolt.Tx) error { txid = tx.ID(); return nil })
	if txid%2 == 0 {
		if err := bdb.Update(func(*bbolt.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	// The page size is a 4-byte field after the page header, magic and
	// version (bbolt's meta page).
	pageSize := binary.NativeEndian.Uint32(data[16+8:])
	clear(data[:pageSize])
	if err := os.WriteFile(db, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code := s.run("", "qsend", "queue", "check")
	const want = 50
	if code != 1 || !strings.Contains(out, "meta page 0: zeroed") || !strings.Contains(out, fmt.Sprintf("%d messages; 1 problems", want)) {
		t.Errorf("queue check: exit %d:\n%s", code, out)
	}
	d := s.startDaemon()
	if log := s.daemonLog(); !strings.Contains(log, "meta page 0: zeroed") {
		t.Errorf("no warning about the zeroed meta page:\n%s", log)
	}
	if n, _, code := s.listed(); n != want || code != 0 {
		t.Errorf("%d listed, want %d, exit %d", n, want, code)
	}
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The daemon's own commits may have rewritten page 0 meanwhile; if not,
	// check says so and the repair rewrites it.
	out, _, code = s.run("", "qsend", "queue", "check", "--repair")
	if code != 0 || !strings.Contains(out, "0 left") {
		t.Errorf("queue check --repair: exit %d:\n%s", code, out)
	}
	s.checkClean()
}

func TestTruncatedQueueStopsDaemon(t *testing.T) {
	s, db := filledSite(t, 500)
	if err := os.Truncate(db, 8192); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := s.run("", "qsend", "daemon")
	all := out + errOut
	if code == 0 || !strings.Contains(all, "file is truncated: 8192 bytes, its pages need ") || strings.Contains(all, "nil pointer") {
		t.Errorf("daemon on a truncated file: exit %d:\n%s", code, all)
	}
	if _, err := os.Stat(ctl.LayoutOf(s.stateDir).Socket); err == nil {
		t.Error("the daemon opened its socket")
	}
	_, errOut, code = s.run("", "qsend", "queue", "check")
	if code != 1 || !strings.Contains(errOut, "file is truncated: 8192 bytes") {
		t.Errorf("queue check: exit %d: %s", code, errOut)
	}
}
