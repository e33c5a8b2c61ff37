package local

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/store"
)

// job is a delivery job for body to every address in rcpts.
func job(sender, body string, rcpts ...string) delivery.Job {
	m := store.Message{ID: 7, Sender: sender}
	var idx []int
	for i, r := range rcpts {
		m.Recipients = append(m.Recipients, store.Recipient{Addr: r})
		idx = append(idx, i)
	}
	return delivery.Job{Msg: m, Rcpts: idx, Body: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader([]byte(body))), nil
	}}
}

func newTransport(t *testing.T, o Options) *Transport {
	t.Helper()
	tr, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// asDaemon makes commands run as the test process, whatever its user: the
// tests of exit codes and environment are not about credentials.
func asDaemon(tr *Transport) *Transport {
	tr.root = false
	return tr
}

func deliver(t *testing.T, tr *Transport, j delivery.Job) []store.Result {
	t.Helper()
	rs := tr.Deliver(context.Background(), j)
	if len(rs) != len(j.Rcpts) {
		t.Fatalf("%d results for %d recipients", len(rs), len(j.Rcpts))
	}
	for i, r := range rs {
		if r.Index != j.Rcpts[i] {
			t.Fatalf("result %d has index %d, want %d", i, r.Index, j.Rcpts[i])
		}
	}
	return rs
}

// files returns the names in dir, failing on errors other than absence.
func files(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// readNew returns the contents of the files in maildir/new.
func readNew(t *testing.T, maildir string) []string {
	t.Helper()
	var out []string
	for _, n := range files(t, filepath.Join(maildir, "new")) {
		b, err := os.ReadFile(filepath.Join(maildir, "new", n))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}
