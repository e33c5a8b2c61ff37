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
	// puts the virtual user in the extension).
	v.user, v.ext, _ = strings.Cut(strings.ToLower(v.local), "-")
	if i := strings.IndexByte(v.local, '-'); i >= 0 {
		v.ext = v.local[i+1:]
	}
	return v
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
