package local

import (
	"errors"
	"os/user"
	"strconv"
	"syscall"
)

// aliasUser is who qmail-getpw delivers as when no system user matches.
const aliasUser = "alias"

// runAs returns the credentials a command runs with when qsend runs as
// root, as qmail-lspawn does before it starts qmail-local: the method's
// User if set, else the system user {user}, else the user "alias"; never
// root. It returns the user's home
// too. Not running as root, commands run as the daemon (nil, "").
func (t *Transport) runAs(m *method, v *vars) (*syscall.Credential, string, error) {
	if !t.root {
		return nil, "", nil
	}
	name := v.user
	if m.user != "" {
		name = m.user
	}
	u, err := user.Lookup(name)
	var unknown user.UnknownUserError
	if m.user == "" && (errors.As(err, &unknown) || name == "") {
		u, err = user.Lookup(aliasUser)
		if errors.As(err, &unknown) {
			//lint:ignore ST1005 qmail-lspawn's text, byte for byte (texts.go)
			return nil, "", errors.New(textNoAlias)
		}
	}
	if err != nil {
		return nil, "", err
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, "", err
	}
	if uid == 0 {
		//lint:ignore ST1005 qmail-lspawn's text, byte for byte (texts.go)
		return nil, "", errors.New(textAsRoot)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
	}
	return cred, u.HomeDir, nil
}
