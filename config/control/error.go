package control

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrNotNumber is wrapped by the error for a number file whose first line
// is not a decimal number.
var ErrNotNumber = errors.New("not a number")

// ErrRange is wrapped by the error for a number too large to hold.
var ErrRange = errors.New("number out of range")

// ErrTooLarge is wrapped by the error for a file larger than MaxSize.
var ErrTooLarge = errors.New("file too large")

// Error is a problem with one control file. Line is the 1-based line at
// fault, or 0 when the whole file is (it could not be opened or read).
type Error struct {
	Path string
	Line int
	Err  error
}

// Error returns "path:line: problem" or "path: problem".
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Path, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether retrying may help: true for failures of the
// system to open or read the file, which qmail treats as temporary
// (control.c, qmail-control.5), false for contents that stay wrong until
// someone edits the file.
func (e *Error) Temporary() bool {
	var errno syscall.Errno
	return errors.As(e.Err, &errno)
}
