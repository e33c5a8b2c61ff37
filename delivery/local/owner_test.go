package local

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/qsend/qsend/store"
)

// TestMaildirOwner: run as root, a virtual Maildir is made with the owner of
// the directory it is made in, and the message file belongs to that owner.
func TestMaildirOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	root := t.TempDir()
	vmail := filepath.Join(root, "vmail")
	if err := os.Mkdir(vmail, 0o755); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 4321, 4322
	if err := os.Chown(vmail, uid, gid); err != nil {
		t.Fatal(err)
	}
	tr := newTransport(t, Options{Default: Method{Kind: KindMaildir, Maildir: vmail + "/{domain}/{user}/Maildir/"}})
	if rs := deliver(t, tr, job("s@x", body, "ann@a.example")); rs[0].State != store.Delivered {
		t.Fatal(rs[0].Text)
	}
	md := vmail + "/a.example/ann/Maildir/"
	paths := []string{vmail + "/a.example", vmail + "/a.example/ann", md, md + "tmp", md + "new", md + "cur"}
	for _, n := range files(t, md+"new") {
		paths = append(paths, md+"new/"+n)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", strings.TrimPrefix(p, root), st.Uid, st.Gid, uid, gid)
		}
	}
}
