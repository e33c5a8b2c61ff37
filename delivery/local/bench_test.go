package local

import (
	"strings"
	"testing"

	"github.com/qsend/qsend/store"
)

// BenchmarkMaildir delivers a 4 KiB message to one Maildir per operation:
// write, fsync, link, unlink, directory fsync.
func BenchmarkMaildir(b *testing.B) {
	root := b.TempDir()
	tr, err := New(Options{Default: Method{Kind: KindMaildir, Maildir: root + "/{user}/"}})
	if err != nil {
		b.Fatal(err)
	}
	j := job("s@x", "Subject: bench\n\n"+strings.Repeat("x", 4096-16)+"\n", "u@h")
	b.SetBytes(4096)
	for b.Loop() {
		if rs := tr.Deliver(b.Context(), j); rs[0].Text == "" || rs[0].State != store.Delivered {
			b.Fatal(rs[0].Text)
		}
	}
}

// BenchmarkCommand runs /bin/true per recipient: the cost of a process and
// the spool file.
func BenchmarkCommand(b *testing.B) {
	tr, err := New(Options{Default: Method{Kind: KindCommand, Command: []string{"/bin/true"}}})
	if err != nil {
		b.Fatal(err)
	}
	tr.root = false
	j := job("s@x", "Subject: bench\n\nhello\n", "u@h")
	for b.Loop() {
		if rs := tr.Deliver(b.Context(), j); rs[0].State != store.Delivered {
			b.Fatal(rs[0].Text)
		}
	}
}
