package inject

import "fmt"

// qmail-inject's exit statuses (qmail-inject.8).
const (
	ExitPermanent = 100 // usage, invalid header field, unparsable address, or refused by the queue
	ExitTemporary = 111 // try again later
)

// Error is a failure that ends qmail-inject or sendmail: Error() is the
// text it prints on stderr, without the final newline, and Code its exit
// status.
type Error struct {
	Code int
	Msg  string
	Err  error // the cause, if any
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the caller should try again later.
func (e *Error) Temporary() bool { return e.Code != ExitPermanent }

// fatal returns qmail-inject's "qmail-inject: fatal: ..." error.
func fatal(code int, format string, args ...any) *Error {
	return &Error{Code: code, Msg: "qmail-inject: fatal: " + fmt.Sprintf(format, args...)}
}

// cantParse is qmail-inject's error for a line it cannot tokenize or whose
// address list it cannot read (qmail's doordie).
func cantParse(line []byte) *Error {
	return fatal(ExitPermanent, "unable to parse this line:\n%s", trimNL(line))
}

func trimNL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}
