package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/docs/man"
	"github.com/qsend/qsend/intake/maildrop"
	"github.com/qsend/qsend/internal/ctl"
)

// serviceFiles are the systemd unit and the daemontools/runit scripts, with
// the default paths that install replaces by the configured ones.
//
//go:embed service
var serviceFiles embed.FS

// The paths written in serviceFiles.
const (
	shippedBin     = "/usr/local/bin/qsend"
	shippedState   = "/var/spool/qsend"
	shippedControl = "/var/qmail/control"
)

// installUser is the user and group that own state_dir (the configuration
// key user names the daemon's user; both default to qsend).
const installUser = "qsend"

// Where install puts what it installs, below --root.
const (
	installUnit    = "/etc/systemd/system/qsend.service"
	packageUnit    = "/lib/systemd/system/qsend.service" // where the Debian package puts it
	installService = "/etc/qsend/service"
	installLogDir  = "/var/log/qsend"
	installManDir  = "/usr/share/man"
)

// systemLinks are the programs other software calls by path.
var systemLinks = []string{"/usr/sbin/sendmail", "/usr/lib/sendmail", "/usr/bin/mailq", "/usr/bin/newaliases"}

// qmailLinks are the qmail programs --qmail-links replaces.
var qmailLinks = []string{"qmail-queue", "qmail-inject", "qmail-smtpd", "qmail-qread", "qmail-qstat", "sendmail"}

func (a *app) installCmd() *cobra.Command {
	var root, bin string
	var qmail bool
	cmd := &cobra.Command{
		Use:   "install",
		Short: "make this machine (or --root DIR) a qsend system",
		Long: `Creates the qsend user and group, state_dir with its owners and modes,
/etc/qsend/qsend.yaml (commented, every key at its default; an existing one is
kept), the program links (/usr/sbin/sendmail, /usr/lib/sendmail, /usr/bin/mailq,
/usr/bin/newaliases, and with --qmail-links the programs in /var/qmail/bin),
the systemd unit, the daemontools/runit run scripts and the man pages. A file
that is in the way is moved aside, and said so. Running it again changes
nothing. Prints one line per change, then what is left to do.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			// Below --root, the configuration there decides state_dir.
			opts := config.Options{Flags: a.root.PersistentFlags(), UID: -1, DefaultFile: filepath.Join(root, config.DefaultFile)}
			cfg, err := config.Load(opts)
			if err != nil {
				return exitf(2, "configuration: %v", err)
			}
			in := &installer{root: root, bin: bin, out: a.stdout, stateDir: cfg.StateDir, controlDir: cfg.ControlDir}
			if err := in.run(qmail); err != nil {
				return exitf(111, "install: %v", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", "/", "install below this folder (for packages and tests)")
	cmd.Flags().StringVar(&bin, "bin", shippedBin, "where the qsend binary is installed (the running one is copied there)")
	cmd.Flags().BoolVar(&qmail, "qmail-links", false, "also replace qmail's programs in /var/qmail/bin, moving the originals aside")
	return cmd
}

// installer does one install; every path it is given is as seen on the
// installed system, and it works below root.
type installer struct {
	root, bin            string
	stateDir, controlDir string
	out                  io.Writer
	changes              int
	uid, gid             int
}

// at returns path below the root.
func (in *installer) at(path string) string { return filepath.Join(in.root, path) }

func (in *installer) changed(format string, args ...any) {
	in.changes++
	fmt.Fprintf(in.out, format+"\n", args...)
}

func (in *installer) run(qmail bool) error {
	steps := []func() error{in.users, in.binary, in.dirs, in.configFile, in.links, in.services, in.manPages}
	if qmail {
		steps = append(steps, in.qmailLinks)
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	if in.changes == 0 {
		fmt.Fprintln(in.out, "nothing to change: this system is installed")
	}
	fmt.Fprintf(in.out, "left to do: review %s, then start the daemon: systemctl daemon-reload && systemctl enable --now qsend\n"+
		"  (or with daemontools/runit: ln -s %s /service/qsend)\n", "/etc/qsend/qsend.yaml", installService)
	return nil
}

// users makes the qsend group and system user (no login shell, home
// state_dir) in root's /etc/group and /etc/passwd.
func (in *installer) users() error {
	unlock, err := lockPasswd(in.at("/etc"))
	if err != nil {
		return err
	}
	defer unlock()
	gid, made, err := addEntry(in.at("/etc/group"), installUser, -1, func(id int) string {
		return fmt.Sprintf("%s:x:%d:", installUser, id)
	})
	if err != nil {
		return err
	}
	if made {
		in.changed("created group %s (gid %d) in %s", installUser, gid, in.at("/etc/group"))
	}
	uid, made, err := addEntry(in.at("/etc/passwd"), installUser, gid, func(id int) string {
		return fmt.Sprintf("%s:x:%d:%d:qsend mail transfer agent:%s:/usr/sbin/nologin", installUser, id, gid, in.stateDir)
	})
	if err != nil {
		return err
	}
	if made {
		in.changed("created user %s (uid %d) in %s", installUser, uid, in.at("/etc/passwd"))
	}
	in.uid, in.gid = uid, gid
	return nil
}

// lockPasswd takes the lock useradd and lckpwdf(3) take, a write lock on
// /etc/.pwd.lock, waiting at most 15 seconds.
func lockPasswd(etc string) (func(), error) {
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(etc, ".pwd.lock")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	for deadline := time.Now().Add(15 * time.Second); ; {
		err = unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%s is locked by another program (useradd, vipw?): %w", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// addEntry returns the id of name in the passwd-style file path, adding
// the line line(id) with the lowest free system id (100 to 999, want
// first when free) when name is missing. It reports whether it added it.
func addEntry(path, name string, want int, line func(id int) string) (int, bool, error) {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, false, err
	}
	used := map[int]bool{}
	for i, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) < 3 {
			continue
		}
		id, err := strconv.Atoi(f[2])
		if err != nil {
			return 0, false, fmt.Errorf("%s:%d: id %q is not a number", path, i+1, f[2])
		}
		if f[0] == name {
			return id, false, nil
		}
		used[id] = true
	}
	id := want
	if id < 0 || used[id] {
		for id = 100; used[id]; id++ {
		}
		if id > 999 {
			return 0, false, fmt.Errorf("%s: no free system id between 100 and 999", path)
		}
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	b = append(b, line(id)+"\n"...)
	return id, true, replaceFile(path, b, 0o644)
}

// replaceFile writes path through a temporary file and a rename, keeping
// the mode of an existing file.
func replaceFile(path string, b []byte, mode os.FileMode) error {
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".qsend-tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// binary copies the running program to --bin unless it is that file.
func (in *installer) binary() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dst := in.at(in.bin)
	if same(self, dst) {
		return nil
	}
	b, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := replaceFile(dst, b, 0o755); err != nil {
		return err
	}
	in.changed("installed %s", dst)
	return nil
}

func same(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// dirs makes state_dir as the daemon leaves it (daemon prepare), so that
// intake finds a queue set up, owned by qsend, and the log folder.
func (in *installer) dirs() error {
	l := ctl.LayoutOf(in.at(in.stateDir))
	for _, d := range []struct {
		path     string
		mode     os.FileMode
		uid, gid int
	}{
		{in.at("/etc/qsend"), 0o755, 0, 0},
		{l.Dir, 0o755, in.uid, in.gid},
		{l.Maildrop, maildrop.DirMode, in.uid, in.gid},
		{l.Tmp, 0o700, in.uid, in.gid},
		{in.at(installLogDir), 0o750, in.uid, in.gid},
	} {
		if err := in.dir(d.path, d.mode, d.uid, d.gid); err != nil {
			return err
		}
	}
	if _, err := os.Lstat(l.Trigger); errors.Is(err, fs.ErrNotExist) {
		if err := unix.Mkfifo(l.Trigger, 0o622); err != nil {
			return fmt.Errorf("creating %s: %w", l.Trigger, err)
		}
		if err := os.Chmod(l.Trigger, 0o622); err != nil {
			return err
		}
		if err := os.Lchown(l.Trigger, in.uid, in.gid); err != nil {
			return err
		}
		in.changed("created %s (FIFO, 0622)", l.Trigger)
	}
	return nil
}

// dir makes path with mode and owners, or corrects them.
func (in *installer) dir(path string, mode os.FileMode, uid, gid int) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(path, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(path, mode); err != nil {
			return err
		}
		if err := os.Chown(path, uid, gid); err != nil {
			return err
		}
		in.changed("created %s (mode %s, owner %d:%d)", path, octal(mode), uid, gid)
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a folder", path)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner information", path)
	}
	if fi.Mode()&(os.ModePerm|os.ModeSticky) != mode || int(st.Uid) != uid || int(st.Gid) != gid {
		if err := os.Chmod(path, mode); err != nil {
			return err
		}
		if err := os.Chown(path, uid, gid); err != nil {
			return err
		}
		in.changed("set %s to mode %s, owner %d:%d", path, octal(mode), uid, gid)
	}
	return nil
}

// configFile writes /etc/qsend/qsend.yaml unless one exists.
func (in *installer) configFile() error {
	path := in.at(config.DefaultFile)
	if _, err := os.Lstat(path); err == nil {
		return nil
	}
	var b bytes.Buffer
	if err := config.WriteDefaultFile(&b); err != nil {
		return err
	}
	if err := replaceFile(path, b.Bytes(), 0o644); err != nil {
		return err
	}
	in.changed("wrote %s (every key at its default)", path)
	return nil
}

// links makes the system's sendmail, mailq and newaliases qsend.
func (in *installer) links() error {
	for _, l := range systemLinks {
		if err := in.link(l, ".pre-qsend"); err != nil {
			return err
		}
	}
	return nil
}

// qmailLinks makes qmail's programs qsend; the originals become NAME.qmail.
func (in *installer) qmailLinks() error {
	for _, name := range qmailLinks {
		if err := in.link(filepath.Join("/var/qmail/bin", name), ".qmail"); err != nil {
			return err
		}
	}
	return nil
}

// link makes path a symbolic link to the binary. Anything else there is
// renamed with suffix first (never overwritten).
func (in *installer) link(path, suffix string) error {
	full := in.at(path)
	if target, err := os.Readlink(full); err == nil && target == in.bin {
		return nil
	}
	if _, err := os.Lstat(full); err == nil {
		aside := full + suffix
		if _, err := os.Lstat(aside); err == nil {
			return fmt.Errorf("%s is in the way and %s exists already: move one of them", full, aside)
		}
		if err := os.Rename(full, aside); err != nil {
			return err
		}
		in.changed("moved %s aside to %s", full, aside)
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(in.bin, full); err != nil {
		return err
	}
	in.changed("linked %s -> %s", full, in.bin)
	return nil
}

// services installs the unit and the run scripts with the configured paths.
func (in *installer) services() error {
	r := strings.NewReplacer(shippedBin, in.bin, shippedState, in.stateDir, shippedControl, in.controlDir)
	unit := installUnit
	if _, err := os.Stat(in.at(packageUnit)); err == nil {
		unit = packageUnit // the package's own, kept up to date
	}
	for _, f := range []struct{ src, dst string }{
		{"service/qsend.service", unit},
		{"service/run", installService + "/run"},
		{"service/log/run", installService + "/log/run"},
	} {
		b, err := serviceFiles.ReadFile(f.src)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(f.src, "/run") {
			mode = 0o755
		}
		if err := in.file(f.dst, []byte(r.Replace(string(b))), mode); err != nil {
			return err
		}
	}
	return nil
}

// manPages installs qsend.8 and qsend.yaml.5.
func (in *installer) manPages() error {
	for _, p := range []string{"qsend.8", "qsend.yaml.5"} {
		b, err := man.Pages.ReadFile(p)
		if err != nil {
			return err
		}
		section := p[strings.LastIndexByte(p, '.')+1:]
		if err := in.file(filepath.Join(installManDir, "man"+section, p), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// file writes a file qsend ships, replacing an older version of it.
func (in *installer) file(path string, b []byte, mode os.FileMode) error {
	full := in.at(path)
	old, err := os.ReadFile(full)
	if err == nil && bytes.Equal(old, b) {
		return nil
	}
	verb := "installed"
	if err == nil {
		verb = "updated"
	}
	if err := replaceFile(full, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(full, mode); err != nil {
		return err
	}
	in.changed("%s %s", verb, full)
	return nil
}

// octal writes a folder's mode as chmod takes it.
func octal(m os.FileMode) string {
	n := uint32(m.Perm())
	if m&os.ModeSticky != 0 {
		n |= 0o1000
	}
	return fmt.Sprintf("%04o", n)
}
