// Package qmailqueue reads a qmail queue (/var/qmail/queue) as qmail-queue
// and qmail-send leave it, for moving its messages into qsend without
// draining it first. It only reads; it never changes the queue unless told
// to remove a message.
//
// The formats are qmail's (qmail-queue.c main, qmail-send.c todo_do,
// getinfo, addbounce; fmtqfn.c for the split file names):
//
//   - mess/S/N is the message, where N is its inode number (the message
//     number) and S is N modulo conf-split (the count of mess/ folders).
//   - todo/N (a link to intd/N once complete) is the envelope qmail-queue
//     wrote: records ending in NUL, "u" uid, "p" pid, "F" sender, then one
//     "T" per recipient.
//   - info/S/N is written by qmail-send when it processes todo/N: one "F"
//     record with the sender. Its mtime is the message's birth, which
//     drives qmail's retry schedule (qmail-send.c getinfo).
//   - local/S/N and remote/S/N hold the recipients of each channel, "T"
//     records, rewritten to "D" once done.
//   - bounce/N holds the failure reports waiting to be bounced: for each
//     recipient "<addr>:\n", the report, and an empty line, where an empty
//     line inside a report was made "/".
//
// A todo/N wins over info/S/N: qmail-send processes todo/N again after a
// crash between writing info and removing todo (qmail-send.c todo_do).
package qmailqueue

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultDir is qmail's queue.
const DefaultDir = "/var/qmail/queue"

// Message is one message of a qmail queue.
type Message struct {
	Num    uint64    // the message number (mess/S/N's inode number)
	Mess   string    // path of the message file
	Born   time.Time // info's mtime; todo's mtime for an unprocessed message
	Sender string    // envelope sender ("" the null sender, "#@[]" a double bounce)
	// Local and Remote are the recipients not yet done, as the channel
	// files name them (a virtual domain's local recipient carries its
	// prepend). For an unprocessed message Remote has them all,
	// unrouted.
	Local, Remote []string
	// Bounced are recipients that failed and wait for their bounce.
	Bounced []Failure
	// Todo is set when qmail-send has not processed the message yet.
	Todo bool
	// UID and PID are the submitter's, from todo (-1 when unknown).
	UID, PID int
}

// Undone returns the recipients still to be delivered.
func (m Message) Undone() []string {
	return append(append([]string(nil), m.Local...), m.Remote...)
}

// Failure is one recipient waiting in bounce/N.
type Failure struct {
	Addr   string
	Report string // qmail's text, with its inner empty lines restored
}

// Skipped is an entry of the queue that was not read.
type Skipped struct {
	Path string
	// Damaged is set for an entry that should be readable and is not;
	// otherwise the entry is incomplete (an intd/N without todo/N, whose
	// qmail-queue has not finished: nothing was acknowledged for it).
	Damaged bool
	Err     error
}

// Queue is a qmail queue directory.
type Queue struct {
	Dir   string
	split uint64
}

// Open checks that dir looks like a qmail queue and finds its split.
func Open(dir string) (*Queue, error) {
	ents, err := os.ReadDir(filepath.Join(dir, "mess"))
	if err != nil {
		return nil, fmt.Errorf("qmail queue %s: %w", dir, err)
	}
	var split uint64
	for _, e := range ents {
		if n, err := strconv.ParseUint(e.Name(), 10, 64); err == nil && e.IsDir() && n+1 > split {
			split = n + 1
		}
	}
	if split == 0 {
		return nil, fmt.Errorf("qmail queue %s: no mess/N folders (is it a qmail queue?)", dir)
	}
	return &Queue{Dir: dir, split: split}, nil
}

// SendLocked reports whether a qmail-send holds lock/sendmutex: it takes
// an exclusive flock on it without waiting (qmail-send.c main, lock_exnb)
// and lets it go at once. A queue without the file has no qmail-send.
func (q *Queue) SendLocked() (bool, error) {
	path := filepath.Join(q.Dir, "lock", "sendmutex")
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return false, unix.Flock(int(f.Fd()), unix.LOCK_UN)
}

// path returns dir/S/N, or dir/N for an unsplit folder.
func (q *Queue) path(dir string, num uint64, split bool) string {
	n := strconv.FormatUint(num, 10)
	if split {
		return filepath.Join(q.Dir, dir, strconv.FormatUint(num%q.split, 10), n)
	}
	return filepath.Join(q.Dir, dir, n)
}

// Nums returns the message numbers in mess/, in ascending order.
func (q *Queue) Nums() ([]uint64, error) {
	var nums []uint64
	for s := uint64(0); s < q.split; s++ {
		d := filepath.Join(q.Dir, "mess", strconv.FormatUint(s, 10))
		names, err := readNames(d)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			if n, err := strconv.ParseUint(name, 10, 64); err == nil && n%q.split == s {
				nums = append(nums, n)
			}
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	return nums, nil
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// Read reads message num. An entry that cannot be imported is returned as
// a *Skipped error naming its file.
func (q *Queue) Read(num uint64) (Message, error) {
	m := Message{Num: num, Mess: q.path("mess", num, true), UID: -1, PID: -1}
	if _, err := os.Stat(m.Mess); err != nil {
		return m, &Skipped{Path: m.Mess, Damaged: true, Err: err}
	}
	todo := q.path("todo", num, false)
	err := readTodo(todo, &m)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return m, skipped(todo, err)
	}
	info := q.path("info", num, true)
	if err := readInfo(info, &m); errors.Is(err, fs.ErrNotExist) {
		intd := q.path("intd", num, false)
		if _, ierr := os.Stat(intd); ierr == nil {
			return m, &Skipped{Path: intd, Err: errors.New("qmail-queue has not finished this message (no todo): nothing was acknowledged for it")}
		}
		return m, &Skipped{Path: m.Mess, Err: errors.New("no envelope (no todo, intd or info): qmail-clean's leftover")}
	} else if err != nil {
		return m, skipped(info, err)
	}
	for _, ch := range []struct {
		dir string
		to  *[]string
	}{{"local", &m.Local}, {"remote", &m.Remote}} {
		p := q.path(ch.dir, num, true)
		if err := readChannel(p, ch.to); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return m, skipped(p, err)
		}
	}
	b := q.path("bounce", num, false)
	if err := readBounce(b, &m.Bounced); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m, skipped(b, err)
	}
	return m, nil
}

func skipped(path string, err error) error {
	if err == nil {
		return nil
	}
	return &Skipped{Path: path, Damaged: true, Err: err}
}

// Error names the file and what is wrong with it.
func (s *Skipped) Error() string { return s.Path + ": " + s.Err.Error() }

// records splits NUL-terminated records; a last record without its NUL is
// a truncated file.
func records(b []byte) ([]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if b[len(b)-1] != 0 {
		return nil, errors.New("truncated: the last record has no NUL")
	}
	parts := bytes.Split(b[:len(b)-1], []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		if len(p) == 0 {
			return nil, fmt.Errorf("record %d is empty", i+1)
		}
		out[i] = string(p)
	}
	return out, nil
}

// readTodo parses qmail-queue's envelope (qmail-queue.c main).
func readTodo(path string, m *Message) error {
	b, fi, err := readFile(path)
	if err != nil {
		return err
	}
	if err := parseTodo(b, m); err != nil {
		return err
	}
	m.Todo, m.Born = true, fi.ModTime()
	return nil
}

// parseTodo parses an envelope into m's sender, recipients, uid and pid.
func parseTodo(b []byte, m *Message) error {
	recs, err := records(b)
	if err != nil {
		return err
	}
	sawF := false
	for i, r := range recs {
		switch r[0] {
		case 'u', 'p':
			n, err := strconv.Atoi(r[1:])
			if err != nil || n < 0 {
				return fmt.Errorf("record %d: bad %c number %q", i+1, r[0], r[1:])
			}
			if r[0] == 'u' {
				m.UID = n
			} else {
				m.PID = n
			}
		case 'F':
			if sawF {
				return fmt.Errorf("record %d: a second sender", i+1)
			}
			sawF, m.Sender = true, r[1:]
		case 'T':
			if !sawF {
				return fmt.Errorf("record %d: a recipient before the sender", i+1)
			}
			m.Remote = append(m.Remote, r[1:])
		default:
			// qmail-send.c todo_do: "unknown record type".
			return fmt.Errorf("record %d: unknown record type %q", i+1, r[0])
		}
	}
	if !sawF {
		return errors.New("no sender (F) record")
	}
	return nil
}

// readInfo reads the sender and the birth (qmail-send.c getinfo).
func readInfo(path string, m *Message) error {
	b, fi, err := readFile(path)
	if err != nil {
		return err
	}
	recs, err := records(b)
	if err != nil {
		return err
	}
	if len(recs) != 1 || recs[0][0] != 'F' {
		return errors.New("not one sender (F) record")
	}
	m.Sender, m.Born = recs[0][1:], fi.ModTime()
	return nil
}

// readChannel appends the recipients still marked T.
func readChannel(path string, to *[]string) error {
	b, _, err := readFile(path)
	if err != nil {
		return err
	}
	return parseChannel(b, to)
}

// parseChannel appends the T records of a channel file to to.
func parseChannel(b []byte, to *[]string) error {
	recs, err := records(b)
	if err != nil {
		return err
	}
	for i, r := range recs {
		switch r[0] {
		case 'T':
			*to = append(*to, r[1:])
		case 'D': // done (qmail-send.c markdone)
		default:
			return fmt.Errorf("record %d: unknown record type %q", i+1, r[0])
		}
	}
	return nil
}

// readBounce parses bounce/N (qmail-send.c addbounce).
func readBounce(path string, to *[]Failure) error {
	b, _, err := readFile(path)
	if err != nil {
		return err
	}
	return parseBounce(b, to)
}

// parseBounce appends the reports of a bounce file to to.
func parseBounce(b []byte, to *[]Failure) error {
	s := string(b)
	if s == "" {
		return nil
	}
	if !strings.HasSuffix(s, "\n\n") {
		return errors.New("truncated: no empty line after the last report")
	}
	for i, rec := range strings.Split(s[:len(s)-2], "\n\n") {
		head, report, _ := strings.Cut(rec, "\n")
		if !strings.HasPrefix(head, "<") || !strings.HasSuffix(head, ">:") {
			return fmt.Errorf("report %d: %q does not read \"<address>:\"", i+1, head)
		}
		// addbounce made each empty line of the report a "/".
		lines := strings.Split(report, "\n")
		for j, l := range lines {
			if l == "/" {
				lines[j] = ""
			}
		}
		*to = append(*to, Failure{Addr: head[1 : len(head)-2], Report: strings.Join(lines, "\n")})
	}
	return nil
}

// readFile reads a regular file, refusing anything else.
func readFile(path string) ([]byte, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, errors.New("not a regular file")
	}
	b := make([]byte, fi.Size())
	n, err := f.ReadAt(b, 0)
	if err != nil && n != len(b) {
		return nil, nil, err
	}
	return b, fi, nil
}

// Remove deletes message num's files, as qmail-clean and qmail-send do
// once it is done: every file naming it, the message last.
func (q *Queue) Remove(num uint64) error {
	paths := []string{
		q.path("todo", num, false), q.path("intd", num, false), q.path("bounce", num, false),
		q.path("local", num, true), q.path("remote", num, true), q.path("info", num, true),
		q.path("mess", num, true),
	}
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
