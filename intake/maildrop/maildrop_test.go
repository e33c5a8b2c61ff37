package maildrop

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "maildrop")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

func write(t *testing.T, dir, body string, e Entry) string {
	t.Helper()
	name, err := Write(dir, strings.NewReader(body), func() (Entry, error) { return e, nil })
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func TestWriteOpenRemove(t *testing.T) {
	dir := newDir(t)
	e := Entry{PID: 42, Sender: "a@example.org", Recipients: []string{"b@example.net", "c@example.net"}}
	for _, body := range []string{"", "Subject: x\n\nbody\n", strings.Repeat("y", 300<<10)} {
		name := write(t, dir, body, e)
		f, err := Open(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f.Body())
		if string(got) != body || f.Size != int64(len(body)) || f.UID != os.Getuid() {
			t.Fatalf("read back %d bytes (size %d, uid %d), want %d", len(got), f.Size, f.UID, len(body))
		}
		if f.Entry.PID != 42 || f.Entry.Sender != e.Sender || strings.Join(f.Entry.Recipients, ",") != "b@example.net,c@example.net" {
			t.Fatalf("entry %+v", f.Entry)
		}
		f.Close()
		if err := Remove(dir, name); err != nil {
			t.Fatal(err)
		}
	}
	names, err := Names(dir)
	if err != nil || len(names) != 0 {
		t.Fatalf("left: %v %v", names, err)
	}
}

func TestWriteFailedEntryLeavesNothing(t *testing.T) {
	dir := newDir(t)
	boom := errors.New("bad envelope")
	_, err := Write(dir, strings.NewReader("body"), func() (Entry, error) { return Entry{}, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestNamesOrderAndTemporaries(t *testing.T) {
	dir := newDir(t)
	for _, n := range []string{"300.1.aa", "20.1.bb", "1000.1.cc", ".tmp.5.1.dd"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names, err := Names(dir)
	if err != nil || strings.Join(names, " ") != "20.1.bb 300.1.aa 1000.1.cc" {
		t.Fatalf("Names = %v %v", names, err)
	}
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(dir, ".tmp.5.1.dd"), old, old)
	if n, err := RemoveStale(dir, 36*time.Hour, time.Now()); n != 1 || err != nil {
		t.Fatalf("RemoveStale = %d %v", n, err)
	}
}

// TestOpenRefuses checks what a local user could plant in the maildrop.
func TestOpenRefuses(t *testing.T) {
	dir := newDir(t)
	good := write(t, dir, "body\n", Entry{Recipients: []string{"r@x"}})
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("secret"), 0o600)

	os.Symlink(outside, filepath.Join(dir, "1.1.symlink"))
	os.Link(filepath.Join(dir, good), filepath.Join(dir, "1.1.hardlink"))
	syscall.Mkfifo(filepath.Join(dir, "1.1.fifo"), 0o600)
	os.Mkdir(filepath.Join(dir, "1.1.dir"), 0o700)
	os.WriteFile(filepath.Join(dir, "1.1.short"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "1.1.nomagic"), bytes.Repeat([]byte("x"), 100), 0o644)
	noRcpt := append([]byte(`{"pid":1,"sender":"a","recipients":[]}`), trailerEnd(37)...)
	os.WriteFile(filepath.Join(dir, "1.1.norcpt"), noRcpt, 0o644)
	huge := append([]byte("body"), trailerEnd(1<<40)...)
	os.WriteFile(filepath.Join(dir, "1.1.hugelen"), huge, 0o644)

	for _, name := range []string{"1.1.symlink", "1.1.hardlink", "1.1.fifo", "1.1.dir", "1.1.short", "1.1.nomagic", "1.1.norcpt", "1.1.hugelen"} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				f, err := Open(dir, name)
				if err == nil {
					f.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrBad) {
					t.Fatalf("Open(%s) = %v, want ErrBad", name, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("Open(%s) blocked", name)
			}
		})
	}
	bad := filepath.Join(t.TempDir(), "corrupt")
	if err := Quarantine(dir, "1.1.nomagic", bad); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(bad, "1.1.nomagic")); err != nil {
		t.Fatal(err)
	}
}

// trailerEnd is the fixed end of a maildrop file for a trailer of n bytes.
func trailerEnd(n uint64) []byte {
	b := make([]byte, 8, 8+len(magic))
	for i := 7; i >= 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return append(b, magic...)
}

func TestTriggerWithoutReader(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "trigger")
	Trigger(fifo) // no FIFO: nothing happens
	if err := syscall.Mkfifo(fifo, 0o622); err != nil {
		t.Fatal(err)
	}
	Trigger(fifo) // a FIFO nobody reads: nothing blocks
	r, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	Trigger(fifo)
	buf := make([]byte, 8)
	if n, err := r.Read(buf); n != 1 || err != nil {
		t.Fatalf("read %d %v", n, err)
	}
}

// FuzzOpen feeds arbitrary file contents to the reader of maildrop files,
// which any local user can write.
func FuzzOpen(f *testing.F) {
	f.Add([]byte("body\n"), `{"pid":1,"sender":"a@b","recipients":["c@d"]}`)
	f.Add([]byte(""), `{"recipients":["x"]}`)
	f.Add([]byte("x"), `{`)
	f.Fuzz(func(t *testing.T, body []byte, trailer string) {
		dir := t.TempDir()
		data := append(append(append([]byte(nil), body...), trailer...), trailerEnd(uint64(len(trailer)))...)
		if err := os.WriteFile(filepath.Join(dir, "1.1.x"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		mf, err := Open(dir, "1.1.x")
		if err != nil {
			if !errors.Is(err, ErrBad) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		defer mf.Close()
		got, err := io.ReadAll(mf.Body())
		if err != nil || !bytes.Equal(got, body) || len(mf.Entry.Recipients) == 0 {
			t.Fatalf("body %q (%v), want %q; entry %+v", got, err, body, mf.Entry)
		}
	})
}
