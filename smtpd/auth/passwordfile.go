package auth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/qsend/qsend/config/control"
)

// maxPasswordFile bounds the file read; a password file of a million users
// is far smaller.
const maxPasswordFile = 64 << 20

// recheckInterval is how often the file is stat'ed for changes at most.
const recheckInterval = time.Second

// dummyHash is verified for unknown users when the file holds no hash to
// borrow, so that an unknown user costs as much as a wrong password
// (bcrypt of a random password, cost 10).
const dummyHash = "$2a$10$Gm8cD5f4uJDX8ReYLVN36.IzzE0KhEunh2sklZa/VltJzL5s10i12"

// PasswordFileOptions configure a PasswordFile. Zero values take the
// defaults named.
type PasswordFileOptions struct {
	// Logger receives reload messages (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock for the once-a-second change check (default
	// time.Now).
	Now func() time.Time
}

// PasswordFile checks passwords against a file of "user:hash" lines,
// where hash is bcrypt ($2a$, $2b$, $2y$) or argon2id in the PHC string
// format ($argon2id$v=19$m=...,t=...,p=...$salt$hash), optionally behind
// Dovecot's {BLF-CRYPT} or {ARGON2ID} prefix, so that a Dovecot passwd-file
// can serve both programs; fields after the hash are ignored. A hash
// starting with '!' or '*' disables the account. Lines are read as qmail
// reads control files (control.c, qmail-control.5): empty lines and lines
// starting with '#' are skipped, trailing whitespace is ignored.
//
// The file is stat'ed at most once a second and read again when it
// changes. While it cannot be read or holds an error, every check fails
// temporarily (454) rather than going on with old contents, so that a
// removed user is never accepted. Its methods may be called from several
// goroutines at once.
type PasswordFile struct {
	path   string
	logger *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	checked time.Time   // last stat
	info    os.FileInfo // of the contents in users; nil after a failure
	users   map[string]hash
	dummy   hash
	err     error // the last load's error
}

// OpenPasswordFile reads the password file at path. An error here is a
// configuration error: it names the file and, for a malformed line, the
// line ("path:3: ...").
func OpenPasswordFile(path string, o PasswordFileOptions) (*PasswordFile, error) {
	p := &PasswordFile{path: path, logger: o.Logger, now: o.Now}
	if p.logger == nil {
		p.logger = slog.Default()
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.checked = p.now()
	if err := p.load(); err != nil {
		return nil, err
	}
	return p, nil
}

// Check verifies pass for user. An unknown user costs one hash
// verification like a known one.
func (p *PasswordFile) Check(ctx context.Context, user, pass string) error {
	users, dummy, err := p.current()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	h, ok := users[user]
	if !ok {
		dummy.verify(pass)
		return fmt.Errorf("%w: unknown user", ErrRejected)
	}
	if !h.verify(pass) {
		return fmt.Errorf("%w: wrong password", ErrRejected)
	}
	return nil
}

// current returns the users, reloading the file if it changed.
func (p *PasswordFile) current() (map[string]hash, hash, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := p.now(); now.Sub(p.checked) >= recheckInterval || now.Before(p.checked) {
		p.checked = now
		fi, err := os.Stat(p.path)
		switch {
		case err != nil:
			if p.err == nil {
				p.logger.Error("auth: password file unreadable; refusing logins temporarily", "err", err)
			}
			p.info, p.err = nil, err
		case p.info == nil || !sameFile(p.info, fi):
			if err := p.load(); err != nil {
				p.logger.Error("auth: password file not reloaded; refusing logins temporarily", "err", err)
			} else {
				p.logger.Info("auth: password file reloaded", "path", p.path, "users", len(p.users))
			}
		}
	}
	if p.err != nil {
		return nil, nil, fmt.Errorf("password file %s: %w", p.path, p.err)
	}
	return p.users, p.dummy, nil
}

// sameFile reports whether a and b describe the same unchanged file.
func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// load reads the file into p; called with p.mu held or before p is shared.
func (p *PasswordFile) load() error {
	users, dummy, fi, err := readPasswordFile(p.path)
	if err != nil {
		p.info, p.err = nil, err
		return err
	}
	p.users, p.dummy, p.info, p.err = users, dummy, fi, nil
	return nil
}

func readPasswordFile(path string) (map[string]hash, hash, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPasswordFile+1))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxPasswordFile {
		return nil, nil, nil, fmt.Errorf("%s: larger than %d bytes", path, maxPasswordFile)
	}
	users, dummy, err := parsePasswords(path, data)
	return users, dummy, fi, err
}

// parsePasswords parses the contents of a password file; errors name
// "path:line". dummy is the hash to verify for unknown users: the first
// usable hash of the file, so that it costs what a real one does.
func parsePasswords(path string, data []byte) (users map[string]hash, dummy hash, err error) {
	users = make(map[string]hash)
	lineOf := make(map[string]int)
	for _, l := range control.ParseList(path, data) {
		user, rest, ok := strings.Cut(l.Text, ":")
		if !ok {
			return nil, nil, fmt.Errorf("%s: want user:hash", l.Pos())
		}
		if user == "" || strings.TrimSpace(user) != user {
			return nil, nil, fmt.Errorf("%s: empty user name or one with surrounding spaces", l.Pos())
		}
		hashText, _, _ := strings.Cut(rest, ":")
		h, err := parseHash(hashText)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: user %s: %w", l.Pos(), user, err)
		}
		if prev, dup := lineOf[user]; dup {
			return nil, nil, fmt.Errorf("%s: user %s already on line %d", l.Pos(), user, prev)
		}
		users[user], lineOf[user] = h, l.Num
		if _, off := h.(disabled); dummy == nil && !off {
			dummy = h
		}
	}
	if dummy == nil {
		dummy = bcryptHash(dummyHash)
	}
	return users, dummy, nil
}
