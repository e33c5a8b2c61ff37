package intake

import (
	"errors"
	"fmt"
	"syscall"
)

// qmail-queue's exit codes (qmail-queue.8). 11–40 are permanent,
// every other non-zero code temporary.
const (
	ExitOK            = 0
	ExitAddrTooLong   = 11 // address too long
	ExitRefused       = 31 // mail server permanently refuses to send the message
	ExitNoMem         = 51 // out of memory
	ExitTimeout       = 52 // timeout
	ExitWriteError    = 53 // write error, e.g. disk full
	ExitReadError     = 54 // unable to read the message or envelope
	ExitConfig        = 55 // unable to read a configuration file
	ExitNetwork       = 56 // problem making a network connection
	ExitHomeDir       = 61 // problem with the home directory
	ExitQueueDir      = 62 // problem with the queue directory
	ExitQueuePid      = 63 // problem with queue/pid
	ExitQueueMess     = 64 // problem with queue/mess
	ExitQueueIntd     = 65 // problem with queue/intd
	ExitQueueTodo     = 66 // problem with queue/todo
	ExitTempRefused   = 71 // mail server temporarily refuses to send the message
	ExitConnTimeout   = 72 // connection to mail server timed out
	ExitConnRefused   = 73 // connection to mail server rejected
	ExitCommunication = 74 // connection succeeded, but communication failed
	ExitBug           = 81 // internal bug
	ExitEnvelope      = 91 // envelope format error
)

// Permanent reports whether a qmail-queue exit code is a permanent failure
// (qmail-queue.8: 11–40 permanent).
func Permanent(code int) bool { return code >= 11 && code <= 40 }

// Error is an intake failure with the qmail-queue exit code that reports it.
type Error struct {
	Code int
	Msg  string
	Err  error // the cause, if any
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the sender should try again later.
func (e *Error) Temporary() bool { return !Permanent(e.Code) }

// Errorf returns an *Error with the given exit code.
func Errorf(code int, format string, args ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ExitCode returns the qmail-queue exit code for err: its own code for an
// *Error, 53 for a full disk or other write failure reported by the
// system, and 81 (internal bug) for anything else.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EIO) {
		return ExitWriteError
	}
	return ExitBug
}

// Describe returns the text qmail's callers print for a qmail-queue exit
// code (qmail.c qmail_close()), with its leading
// D (permanent) or Z (temporary) letter removed, and whether it is permanent.
func Describe(code int) (text string, permanent bool) {
	switch {
	case code == 0:
		return "", false
	case code == 11 || code == 115:
		return "envelope address too long for qq (#5.1.3)", true
	case code == 31:
		return "mail server permanently rejected message (#5.3.0)", true
	case code == 51:
		return "qq out of memory (#4.3.0)", false
	case code == 52:
		return "qq timeout (#4.3.0)", false
	case code == 53:
		return "qq write error or disk full (#4.3.0)", false
	case code == 54:
		return "qq read error (#4.3.0)", false
	case code == 55:
		return "qq unable to read configuration (#4.3.0)", false
	case code == 56:
		return "qq trouble making network connection (#4.3.0)", false
	case code == 61:
		return "qq trouble in home directory (#4.3.0)", false
	case code >= 62 && code <= 66:
		return "qq trouble creating files in queue (#4.3.0)", false
	case code == 71:
		return "mail server temporarily rejected message (#4.3.0)", false
	case code == 72:
		return "connection to mail server timed out (#4.4.1)", false
	case code == 73:
		return "connection to mail server rejected (#4.4.1)", false
	case code == 74:
		return "communication with mail server failed (#4.4.2)", false
	case code == 81 || code == 91:
		return "qq internal bug (#4.3.0)", false
	case code == 120:
		return "unable to exec qq (#4.3.0)", false
	case code >= 11 && code <= 40:
		return "qq permanent problem (#5.3.0)", true
	}
	return "qq temporary problem (#4.3.0)", false
}
