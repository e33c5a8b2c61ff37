package local

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qsend/qsend/delivery/rewrite"
	"github.com/qsend/qsend/store"
)

const body = "Subject: hi\nDelivered-To: someone-else@example.org\n\nHello.\n"

func TestMaildirDelivery(t *testing.T) {
	rules, err := rewrite.New("example.org", []string{"example.org"}, nil, []string{"virt.example:vu"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, rcpt, sender string
		maildir            string // below the temporary root
		dt                 string // Delivered-To address
	}{
		{"plain", "Alice@Example.org", "bob@example.net", "alice/Maildir", "Alice@Example.org"},
		{"extension", "alice-lists@example.org", "", "alice/Maildir", "alice-lists@example.org"},
		{"virtual prepend", "Carol@virt.example", "x@y", "vu/Carol/Maildir", "vu-Carol@virt.example"},
		{"no at", "dave", "#@[]", "dave/Maildir", "dave@example.org"},
		// RFC 6531: a UTF-8 local part is the path element as it is;
		// only ASCII letters are lower-cased (qmail's case_lowerb).
		{"UTF-8 local part", "Üser@example.org", "s@x", "Üser/Maildir", "Üser@example.org"},
		{"UTF-8 local part with extension", "üser-Ext@example.org", "s@x", "üser/Maildir", "üser-Ext@example.org"},
		{"UTF-8 local part, mixed case", "ÜSER@example.org", "s@x", "Üser/Maildir", "ÜSER@example.org"},
		// An A-label-looking local part is a name, neither decoded nor
		// split at its '-'.
		{"A-label local part", "XN--ser-kva@example.org", "s@x", "xn--ser-kva/Maildir", "XN--ser-kva@example.org"},
		{"A-label local part, virtual", "xn--ser-kva@virt.example", "s@x", "vu/xn--ser-kva/Maildir", "vu-xn--ser-kva@virt.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tr := newTransport(t, Options{Rewrite: rules, Default: Method{Kind: KindMaildir, Maildir: root + "/{user}/Maildir/"},
				Domains: map[string]Method{"virt.example": {Kind: KindMaildir, Maildir: root + "/{user}/{ext}/Maildir"}}})
			rs := deliver(t, tr, job(tc.sender, body, tc.rcpt))
			if rs[0].State != store.Delivered {
				t.Fatalf("state %v: %q", rs[0].State, rs[0].Text)
			}
			md := filepath.Join(root, tc.maildir)
			want := "Return-Path: <" + tc.sender + ">\nDelivered-To: " + tc.dt + "\n" + body
			got := readNew(t, md)
			if len(got) != 1 || got[0] != want {
				t.Fatalf("new/ holds %q, want [%q]", got, want)
			}
			if left := files(t, filepath.Join(md, "tmp")); len(left) != 0 {
				t.Errorf("tmp/ holds %v", left)
			}
			if fi, err := os.Stat(filepath.Join(md, "cur")); err != nil || !fi.IsDir() {
				t.Errorf("cur/ not made: %v", err)
			}
			if !strings.Contains(rs[0].Text, filepath.Join(md, "new")) {
				t.Errorf("text %q does not name the file", rs[0].Text)
			}
		})
	}
}

func TestMaildirUniqueNames(t *testing.T) {
	root := t.TempDir()
	tr := newTransport(t, Options{Default: Method{Kind: KindMaildir, Maildir: root + "/{user}/"}})
	j := job("s@x", body, "a@h", "a@h", "a@h")
	for i := 0; i < 3; i++ {
		for _, r := range deliver(t, tr, j) {
			if r.State != store.Delivered {
				t.Fatal(r.Text)
			}
		}
	}
	names := files(t, filepath.Join(root, "a", "new"))
	if len(names) != 9 {
		t.Fatalf("%d files in new/, want 9: %v", len(names), names)
	}
	host, _ := os.Hostname()
	for _, n := range names {
		if !strings.HasSuffix(n, "."+maildirHost(host)) || !strings.Contains(n, ".M") || !strings.Contains(n, "Q") {
			t.Errorf("name %q is not <sec>.M<usec>P<pid>Q<n>.<host>", n)
		}
	}
}

func TestMaildirFailures(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name    string
		maildir string
		rcpt    string
		body    string
		state   store.RcptState
		text    string
	}{
		{"loop", root + "/{user}/", "Joe@h", "X: 1\ndelivered-to:   joe@H \n\nbody\n", store.Failed, textLoop},
		{"loop only in header", root + "/{user}/", "joe@h", "X: 1\n\nDelivered-To: joe@h\n", store.Delivered, "did 0+1+0/"},
		{"unknown user in home", "~/Maildir/", "no-such-user-qsend@h", body, store.Failed, textNoMailbox},
		{"missing maildir in home", "~/no-such-maildir-qsend/", "root@h", body, store.Deferred, textNoMaildir},
		{"dot dot", root + "/{local}/", "..@h", body, store.Failed, textBadMailbox},
		{"slash", root + "/{domain}/", "x@a/b", body, store.Failed, textBadMailbox},
		{"leading dot", root + "/{user}/", ".hidden@h", body, store.Failed, textBadMailbox},
		{"leading dot in the extension", root + "/{user}/{ext}/", "joe-.Trash@h", body, store.Failed, textBadMailbox},
		{"invalid UTF-8", root + "/{local}/", "\xfcser@h", body, store.Failed, textBadMailbox},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, Options{Default: Method{Kind: KindMaildir, Maildir: tc.maildir}})
			rs := deliver(t, tr, job("s@x", tc.body, tc.rcpt))
			if rs[0].State != tc.state || !strings.HasPrefix(rs[0].Text, tc.text) || !strings.HasSuffix(rs[0].Text, "\n") {
				t.Fatalf("got %v %q, want %v %q", rs[0].State, rs[0].Text, tc.state, tc.text)
			}
		})
	}
}

// TestMaildirReadOnly: a Maildir that cannot be written gives a temporary
// failure and leaves nothing in new/ or tmp/.
func TestMaildirReadOnly(t *testing.T) {
	root := t.TempDir()
	md := root + "/u/"
	tr := newTransport(t, Options{Default: Method{Kind: KindMaildir, Maildir: root + "/{user}/"}})
	if rs := deliver(t, tr, job("s@x", body, "u@h")); rs[0].State != store.Delivered {
		t.Fatal(rs[0].Text)
	}
	os.Remove(filepath.Join(md, "new", files(t, md+"new")[0]))
	if os.Geteuid() == 0 {
		// root ignores modes: make new/ a read-only tmpfs.
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", md+"new").CombinedOutput(); err != nil {
			t.Skipf("cannot mount a read-only tmpfs: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", md+"new").Run() })
	} else {
		os.Chmod(md+"new", 0o555)
		t.Cleanup(func() { os.Chmod(md+"new", 0o755) })
	}
	rs := deliver(t, tr, job("s@x", body, "u@h"))
	if rs[0].State != store.Deferred || !strings.HasPrefix(rs[0].Text, "Unable to write to maildir") {
		t.Fatalf("got %v %q", rs[0].State, rs[0].Text)
	}
	if n := files(t, md+"new"); len(n) != 0 {
		t.Errorf("new/ holds %v", n)
	}
	if n := files(t, md+"tmp"); len(n) != 0 {
		t.Errorf("tmp/ holds %v", n)
	}
}

// TestMaildirDiskFull: a full file system gives a temporary failure naming
// it and leaves nothing behind.
func TestMaildirDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	root := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", root).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", root).Run() })
	tr := newTransport(t, Options{Default: Method{Kind: KindMaildir, Maildir: root + "/{user}/"}})
	big := "Subject: big\n\n" + strings.Repeat("x", 200<<10) + "\n"
	rs := deliver(t, tr, job("s@x", big, "u@h"))
	if rs[0].State != store.Deferred || !strings.HasPrefix(rs[0].Text, textDiskFull) {
		t.Fatalf("got %v %q", rs[0].State, rs[0].Text)
	}
	if n := files(t, root+"/u/new"); len(n) != 0 {
		t.Errorf("new/ holds %v", n)
	}
	if n := files(t, root+"/u/tmp"); len(n) != 0 {
		t.Errorf("tmp/ holds %v", n)
	}
}
