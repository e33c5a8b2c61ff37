// Package maildrop is the directory where intake programs leave messages
// when the daemon is not running (or they may not use its socket), and
// where the daemon picks them up.
//
// The directory is mode 1733, like Postfix's maildrop without postdrop: any
// user may create files, nobody but its owner may list it, and the sticky
// bit lets users remove only their own files. A submission is written under
// a temporary name, fsynced and renamed to its final name, so the daemon
// only ever sees complete files. The file's owner, set by the kernel, is
// the submitter's uid. A file is the message followed by a JSON trailer with
// the envelope, the trailer's length and a magic string.
package maildrop

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	magic     = "QSDROP1\n"
	tmpPrefix = ".tmp."
	// DirMode is the directory's mode: world-writable, not listable, sticky.
	DirMode = os.ModeSticky | 0o733
	// fileMode lets a daemon that runs as its own user read the file; the
	// name carries 64 random bits in a directory nobody else can list.
	fileMode   = 0o644
	maxTrailer = 64 << 20 // an envelope of about 60,000 full-length addresses
)

// Entry is what a maildrop file records besides the message.
type Entry struct {
	PID        int      `json:"pid"`
	Sender     string   `json:"sender"`
	Recipients []string `json:"recipients"`
	// Import, in a file root wrote, is a message queued before by another
	// MTA (qsend import-qmail): it keeps its own birth and trace lines.
	Import *Import `json:"import,omitempty"`
}

// Import is what an imported message keeps from the queue it came from.
type Import struct {
	// Key makes the import happen once: the queue's deduplication key,
	// kept after the import so that importing again finds it.
	Key      string    `json:"key"`
	Born     time.Time `json:"born"`     // the original arrival
	Protocol string    `json:"protocol"` // the store's Intake.Protocol
	UID      int       `json:"uid"`      // the original submitter, -1 unknown
}

// Write stores a message in dir: it copies body into a new file, then calls
// entry (which may read the envelope only now) and completes the file. If
// entry fails, nothing is left behind and its error is returned. It returns
// the file's final name once the file is durable.
func Write(dir string, body io.Reader, entry func() (Entry, error)) (string, error) {
	name, err := newName()
	if err != nil {
		return "", err
	}
	tmp := filepath.Join(dir, tmpPrefix+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return "", fmt.Errorf("maildrop: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, body); err != nil {
		return "", err // the caller tells a read error from a write error
	}
	e, err := entry()
	if err != nil {
		return "", err
	}
	trailer, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(trailer)))
	trailer = append(trailer, n[:]...)
	trailer = append(trailer, magic...)
	if _, err := f.Write(trailer); err != nil {
		return "", fmt.Errorf("maildrop: writing %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("maildrop: syncing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("maildrop: closing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return "", fmt.Errorf("maildrop: %w", err)
	}
	ok = true
	syncDir(dir)
	return name, nil
}

// syncDir makes a rename durable where the directory can be opened; an
// ordinary user cannot open a mode-1733 directory, and relies on the
// journal committing the rename with the file's fsync.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}

// newName returns a unique, unguessable file name: time, pid, randomness.
func newName() (string, error) {
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	return strconv.FormatInt(time.Now().UnixNano(), 10) + "." + strconv.Itoa(os.Getpid()) + "." + hex.EncodeToString(r[:]), nil
}

// Names returns the complete files waiting in dir, oldest first (names
// start with the time of writing).
func Names(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	all, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	names := all[:0]
	for _, n := range all {
		if !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	sortNames(names)
	return names, nil
}

// sortNames orders names by their leading timestamp.
func sortNames(names []string) {
	key := func(s string) int64 {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			i = len(s)
		}
		n, _ := strconv.ParseInt(s[:i], 10, 64)
		return n
	}
	sort.Slice(names, func(i, j int) bool { return key(names[i]) < key(names[j]) })
}

// File is one complete maildrop file opened for import.
type File struct {
	Name  string
	UID   int       // the file's owner: the submitter
	Time  time.Time // when it was written
	Entry Entry
	Size  int64 // message bytes
	f     *os.File
}

// ErrBad marks a file that is not a valid submission: a link, not a
// regular file, or without a valid trailer.
var ErrBad = errors.New("maildrop: not a valid submission")

// Open opens a complete file for import. It refuses symbolic links, files
// with other names linked to them (a user could link a file he does not own
// into the maildrop), and files without a valid trailer, with ErrBad.
func Open(dir, name string) (*File, error) {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%w: %s is a symbolic link", ErrBad, path)
		}
		return nil, err
	}
	mf, err := inspect(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	mf.Name = name
	return mf, nil
}

func inspect(f *os.File, path string) (*File, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrBad, path)
	}
	if st.Nlink != 1 {
		return nil, fmt.Errorf("%w: %s has %d links", ErrBad, path, st.Nlink)
	}
	size := fi.Size()
	tail := int64(8 + len(magic))
	if size < tail {
		return nil, fmt.Errorf("%w: %s is too short", ErrBad, path)
	}
	var end [8 + len(magic)]byte
	if _, err := f.ReadAt(end[:], size-tail); err != nil {
		return nil, err
	}
	if string(end[8:]) != magic {
		return nil, fmt.Errorf("%w: %s has no trailer", ErrBad, path)
	}
	tlen := int64(binary.BigEndian.Uint64(end[:8]))
	if tlen < 2 || tlen > maxTrailer || tlen > size-tail {
		return nil, fmt.Errorf("%w: %s has a trailer of %d bytes", ErrBad, path, tlen)
	}
	raw := make([]byte, tlen)
	if _, err := f.ReadAt(raw, size-tail-tlen); err != nil {
		return nil, err
	}
	var e Entry
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("%w: %s: trailer: %v", ErrBad, path, err)
	}
	if len(e.Recipients) == 0 {
		return nil, fmt.Errorf("%w: %s: no recipients", ErrBad, path)
	}
	return &File{
		UID:   int(st.Uid),
		Time:  fi.ModTime(),
		Entry: e,
		Size:  size - tail - tlen,
		f:     f,
	}, nil
}

// Body returns a reader of the message.
func (m *File) Body() io.Reader { return io.NewSectionReader(m.f, 0, m.Size) }

// Close closes the file.
func (m *File) Close() error { return m.f.Close() }

// Remove deletes a file after its import, and syncs the directory.
func Remove(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	syncDir(dir)
	return nil
}

// Quarantine moves a bad file out of the way into badDir.
func Quarantine(dir, name, badDir string) error {
	if err := os.MkdirAll(badDir, 0o700); err != nil {
		return err
	}
	return os.Rename(filepath.Join(dir, name), filepath.Join(badDir, name))
}

// RemoveStale deletes temporary files older than age, left by writers that
// died before finishing. It returns how many it removed.
func RemoveStale(dir string, age time.Duration, now time.Time) (int, error) {
	d, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	all, err := d.Readdirnames(-1)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range all {
		if !strings.HasPrefix(name, tmpPrefix) {
			continue
		}
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil || now.Sub(fi.ModTime()) < age {
			continue
		}
		if os.Remove(filepath.Join(dir, name)) == nil {
			n++
		}
	}
	return n, nil
}

// Trigger wakes a daemon that waits on the FIFO at path; it does nothing
// when no daemon reads it.
func Trigger(path string) {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return // ENXIO: nobody reads it; ENOENT: no daemon ever ran
	}
	f.Write([]byte{1})
	f.Close()
}
