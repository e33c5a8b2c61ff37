package mx

import "fmt"

// Error is a failed plan. Temporary decides defer vs bounce and is set where the
// failure is classified, never guessed from the text.
type Error struct {
	Domain    string // the domain (or relay) being planned
	Temporary bool   // true: defer and retry; false: bounce
	Enhanced  string // RFC 3463 enhanced status code, e.g. "5.1.2"
	Text      string // the qmail-remote report text, e.g. "Sorry, ... (#5.1.2)"
	Err       error  // the underlying cause, if any
}

// Error returns the domain, the report text and the cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("mx: %s: %s: %v", e.Domain, e.Text, e.Err)
	}
	return fmt.Sprintf("mx: %s: %s", e.Domain, e.Text)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// The constructors below classify a failure; the texts are in texts.go.

// errSoftDNS is a temporary DNS failure: SERVFAIL, REFUSED, timeout.
func errSoftDNS(domain string, cause error) *Error {
	return &Error{Domain: domain, Temporary: true, Enhanced: "4.1.2",
		Text: TextSoftDNS, Err: cause}
}

// errNoHost is NXDOMAIN or a name that cannot be a host name.
func errNoHost(domain string, cause error) *Error {
	return &Error{Domain: domain, Enhanced: "5.1.2",
		Text: textNoHost(domain), Err: cause}
}

// errNoMX is an existing name with neither a usable MX nor an address.
func errNoMX(domain string) *Error {
	return &Error{Domain: domain, Enhanced: "5.4.4",
		Text: textNoMX}
}

// errNullMX is a domain that publishes a null MX (RFC 7505 §3); RFC 7505 §5
// registers the enhanced status code X.1.10 for it.
func errNullMX(domain string) *Error {
	return &Error{Domain: domain, Enhanced: "5.1.10",
		Text: textNullMX(domain)}
}

// errSelfMX is this host being the best MX without the domain being local.
func errSelfMX(domain string) *Error {
	return &Error{Domain: domain, Enhanced: "5.4.6",
		Text: textSelfMX}
}
