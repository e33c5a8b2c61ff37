package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/qsend/qsend/delivery"
)

// deliverMaildir writes the message into the recipient's Maildir with
// qmail-local's algorithm (maildir(5)): a unique name in tmp/, the
// Return-Path and Delivered-To lines then the message, fsync, a hard link
// into new/, and the tmp/ name removed. A failure at any step removes the
// tmp/ file, so new/ never holds part of a message.
func (t *Transport) deliverMaildir(ctx context.Context, job delivery.Job, m *method, v *vars) outcome {
	if m.underHome {
		if err := v.lookupHome(); errors.Is(err, errNoUser) {
			return failed(textNoMailbox) // qmail-local's text for an unknown user
		} else if err != nil {
			return deferred(errorText(textLookup, err))
		}
	}
	dir, err := expandPath(m.maildir, v)
	if err != nil {
		return failed(textBadMailbox + "\n" + err.Error())
	}
	if err := t.prepareMaildir(dir, m.underHome); err != nil {
		if m.underHome {
			// qmail-local: a missing Maildir in a home is a temporary
			// failure; the user may be about to create it.
			return deferred(errorText(textNoMaildir, err))
		}
		return deferred(errorText(textMaildirMade, err))
	}
	name := t.uniqueName()
	tmp := dir + "tmp/" + name
	if err := t.writeTmp(ctx, tmp, dir, job, v); err != nil {
		os.Remove(tmp)
		if ctx.Err() != nil {
			return deferred(textInterrupted)
		}
		return deferred(writeText(err))
	}
	dst := dir + "new/" + name
	if err := os.Link(tmp, dst); err != nil {
		os.Remove(tmp)
		return deferred(writeText(err))
	}
	os.Remove(tmp)
	// The link must survive a crash before the scheduler records the
	// delivery, or an acknowledged message could be lost.
	if err := syncDir(dir + "new"); err != nil {
		os.Remove(dst)
		return deferred(writeText(err))
	}
	return delivered(textDid(dst))
}

// expandPath expands a Maildir template. A placeholder value with '/' or
// NUL, one that begins with '.' (a hidden entry, or a Maildir++ folder
// of the mailbox above), one that is not valid UTF-8 (a UTF-8 local part,
// RFC 6531 §3.3, is a path element as it is), or a resulting "." or ".."
// path segment, is refused: a local part must not walk out of the
// mailbox tree.
func expandPath(t template, v *vars) (string, error) {
	for _, p := range t.parts {
		if p.f == fLiteral || p.f == fHome {
			continue
		}
		s := v.get(p.f)
		switch {
		case strings.ContainsAny(s, "/\x00"):
			return "", fmt.Errorf("placeholder value %q has '/' or NUL", s)
		case strings.HasPrefix(s, "."):
			return "", fmt.Errorf("placeholder value %q begins with '.'", s)
		case !utf8.ValidString(s):
			return "", fmt.Errorf("placeholder value %q is not valid UTF-8", s)
		}
	}
	dir := t.expand(v)
	for _, seg := range strings.Split(dir, "/") {
		if seg == "." || seg == ".." {
			return "", fmt.Errorf("maildir %q has a %q segment", dir, seg)
		}
	}
	return dir, nil
}

// prepareMaildir checks that dir has tmp/ and new/. Outside a home it
// creates dir, tmp/, new/ and cur/ as needed (mode 0700), owned, when
// running as root, by the owner of the nearest existing parent.
func (t *Transport) prepareMaildir(dir string, underHome bool) error {
	_, errTmp := os.Stat(dir + "tmp")
	_, errNew := os.Stat(dir + "new")
	if errTmp == nil && errNew == nil {
		return nil
	}
	if underHome || (!os.IsNotExist(errTmp) && errTmp != nil) || (!os.IsNotExist(errNew) && errNew != nil) {
		return errors.Join(errTmp, errNew)
	}
	owner, err := nearestOwner(filepath.Clean(dir))
	if err != nil {
		return err
	}
	for _, sub := range []string{"", "tmp", "new", "cur"} {
		p := filepath.Clean(dir + sub)
		if err := t.mkdirOwned(p, owner); err != nil {
			return err
		}
	}
	return nil
}

// mkdirOwned makes p and its missing parents, chowning each new one to
// owner when running as root.
func (t *Transport) mkdirOwned(p string, owner *syscall.Stat_t) error {
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if parent := filepath.Dir(p); parent != p {
		if err := t.mkdirOwned(parent, owner); err != nil {
			return err
		}
	}
	if err := os.Mkdir(p, 0o700); err != nil && !os.IsExist(err) {
		return err
	}
	if t.root && owner != nil {
		if err := os.Chown(p, int(owner.Uid), int(owner.Gid)); err != nil {
			return err
		}
	}
	return nil
}

// nearestOwner returns the ownership of p's nearest existing ancestor.
func nearestOwner(p string) (*syscall.Stat_t, error) {
	for {
		fi, err := os.Stat(p)
		if err == nil {
			st, _ := fi.Sys().(*syscall.Stat_t)
			return st, nil
		}
		if !os.IsNotExist(err) {
			return nil, err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return nil, err
		}
		p = parent
	}
}

// writeTmp creates tmp exclusively and writes the message into it, synced
// to disk, owned by the owner of the Maildir's new/ when running as root.
func (t *Transport) writeTmp(ctx context.Context, tmp, dir string, job delivery.Job, v *vars) error {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if t.root {
		fi, err := os.Stat(dir + "new")
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
	}
	if _, err := io.WriteString(f, rpLine(v)+dtLine(v)); err != nil {
		return err
	}
	body, err := job.Body()
	if err != nil {
		return fmt.Errorf("%s: %w", textUnreadable, err)
	}
	defer body.Close()
	if _, err := io.Copy(f, ctxReader{ctx, body}); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// writeText names a write failure, with the system error.
func writeText(err error) string {
	switch {
	case errors.Is(err, syscall.EDQUOT):
		return errorText(textQuota, err)
	case errors.Is(err, syscall.ENOSPC):
		return errorText(textDiskFull, err)
	}
	return errorText(textWrite, err)
}

// syncDir fsyncs a directory so that a new entry in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// uniqueName is a Maildir file name in the modern form of maildir(5):
// "<seconds>.M<microseconds>P<pid>Q<n>.<host>", where n counts this
// process's deliveries, so that names never repeat within one process and
// the pid separates processes on one host.
func (t *Transport) uniqueName() string {
	now := t.o.Now()
	q := t.seq.Add(1)
	return strconv.FormatInt(now.Unix(), 10) + ".M" + strconv.Itoa(now.Nanosecond()/1000) +
		"P" + strconv.Itoa(t.pid) + "Q" + strconv.FormatUint(q, 10) + "." + t.host
}

// maildirHost is the host name as maildir(5) writes it in file names:
// '/' as "\057" and ':' as "\072".
func maildirHost(h string) string {
	return strings.NewReplacer("/", `\057`, ":", `\072`).Replace(h)
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
