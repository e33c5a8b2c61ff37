package store

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	berrors "go.etcd.io/bbolt/errors"
)

// More errors returned by the store, in addition to those in api.go.
var (
	// ErrInvalid marks a request the store refuses whatever the state of
	// the disk: a message without recipients, a result for a recipient
	// that does not exist or is already final. It is permanent.
	ErrInvalid = errors.New("invalid request")
	// ErrVersion marks a queue file written in a format this version of
	// qsend does not know.
	ErrVersion = errors.New("queue file has an unknown format version")
)

// osErrnos are the system errors callers map to "try again later"
// (qmail-queue.8: exit 53, write error, e.g. disk full).
var osErrnos = []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EFBIG}

// errnoError keeps a system error recognisable by errors.Is after a
// library flattened it to text (bbolt reports a failed file resize or
// sync with %s, not %w).
type errnoError struct {
	err   error
	errno syscall.Errno
}

func (e *errnoError) Error() string   { return e.err.Error() }
func (e *errnoError) Unwrap() []error { return []error{e.err, e.errno} }

// ioError wraps an error from a bbolt transaction with the file's path and
// the operation, keeping ENOSPC and its kin testable with errors.Is.
func (s *Store) ioError(op string, err error) error {
	if errors.Is(err, berrors.ErrDatabaseReadOnly) {
		return fmt.Errorf("store %s: %s: opened read-only: %w", s.path, op, err)
	}
	err = fmt.Errorf("store %s: %s: %w", s.path, op, err)
	for _, errno := range osErrnos {
		if errors.Is(err, errno) {
			return err
		}
	}
	for _, errno := range osErrnos {
		if strings.Contains(err.Error(), errno.Error()) {
			return &errnoError{err: err, errno: errno}
		}
	}
	return err
}

// isCorruptOpen reports whether an error from bolt.Open means the file is
// not a valid bbolt file (as opposed to a permission or lock problem).
func isCorruptOpen(err error) bool {
	return errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) ||
		errors.Is(err, berrors.ErrVersionMismatch) || errors.Is(err, berrors.ErrInvalidMapping) ||
		strings.Contains(err.Error(), "file size too small")
}

// notFound is the error for an unknown id.
func notFound(id ID) error { return fmt.Errorf("message %d: %w", id, ErrNotFound) }

// errBadSchedKey reports a schedule entry that is not a (time, id) pair.
func errBadSchedKey(k []byte) error {
	return fmt.Errorf("schedule key %x has %d bytes, want %d: %w", k, len(k), schedKeyLen, ErrCorrupt)
}
