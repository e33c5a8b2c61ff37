package policy

// Failure is a TLS policy failure: the text is qmail-tls's where qmail-tls
// has one (qmail-tls qmail-remote.c tls_init()), without the "; connected to IP."
// the caller appends. Every Failure is temporary: the message is deferred
// and the next MX tried, never bounced for it, and nothing goes out in
// plaintext.
type Failure struct {
	Text string
	Err  error // the underlying error, if any
}

// Error returns the text.
func (f *Failure) Error() string { return f.Text }

// Unwrap returns the underlying error.
func (f *Failure) Unwrap() error { return f.Err }

// Temporary reports true: a policy failure defers.
func (f *Failure) Temporary() bool { return true }
