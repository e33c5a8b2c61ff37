package local

import (
	"errors"
	"fmt"
	"os/user"
	"strings"

	"github.com/qsend/qsend/internal/envelope"
)

// vars are the values of the placeholders for one recipient.
type vars struct {
	addr, local, domain, user, ext, sender string
	home                                   string // set by lookupHome
}

// newVars splits the rewritten address addr (see the package comment).
func newVars(addr, sender string) *vars {
	v := &vars{addr: addr, sender: sender}
	v.local, v.domain, _ = envelope.Split(addr)
	v.domain = strings.ToLower(v.domain)
	// qmail's user-ext split at conf-break '-', user lower-cased as
	// qmail-getpw does (qmail-send.c rewrite() for the prepend that
	// puts the virtual user in the extension): ASCII letters only, so a
	// UTF-8 local part (RFC 6531) keeps its other characters as sent.
	if isALabel(v.local) {
		// "xn--ser-kva" is a mailbox of that name, never user "xn" with
		// extension "-ser-kva", and never decoded: an A-label is a
		// domain's encoding (RFC 5890 §2.3.2.1), not a local part's
		// (docs/local.md).
		v.user = asciiLower(v.local)
		return v
	}
	v.user, v.ext, _ = strings.Cut(asciiLower(v.local), "-")
	if i := strings.IndexByte(v.local, '-'); i >= 0 {
		v.ext = v.local[i+1:]
	}
	return v
}

// isALabel reports whether a local part looks like an A-label: "xn--"
// in any case (RFC 5890 §2.3.1).
func isALabel(local string) bool {
	return len(local) > 4 && strings.EqualFold(local[:4], "xn--")
}

// asciiLower lower-cases the ASCII letters of s (qmail's case_lowerb).
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

func (v *vars) get(f field) string {
	switch f {
	case fUser:
		return v.user
	case fExt:
		return v.ext
	case fLocal:
		return v.local
	case fDomain:
		return v.domain
	case fAddr:
		return v.addr
	case fHome:
		return v.home
	case fSender:
		return v.sender
	}
	return ""
}

// errNoUser is the permanent failure for a user the system does not know.
var errNoUser = errors.New("no such user")

// lookupHome fills v.home from the system user database. An unknown user
// is errNoUser; any other failure is temporary.
func (v *vars) lookupHome() error {
	if v.home != "" {
		return nil
	}
	if v.user == "" || strings.ContainsAny(v.user, "/\x00") {
		return errNoUser
	}
	u, err := user.Lookup(v.user)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return errNoUser
		}
		return fmt.Errorf("looking up user %q: %w", v.user, err)
	}
	if u.HomeDir == "" {
		return fmt.Errorf("user %q has no home directory", v.user)
	}
	v.home = u.HomeDir
	return nil
}
