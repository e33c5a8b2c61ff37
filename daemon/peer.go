package daemon

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// peer is who is at the other end of a control connection, as the kernel
// reports it (SO_PEERCRED): nothing the client says about itself is trusted.
type peer struct {
	UID, GID, PID int
}

func peerOf(c *net.UnixConn) (peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return peer{}, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return peer{}, err
	}
	if cerr != nil {
		return peer{}, fmt.Errorf("reading peer credentials: %w", cerr)
	}
	return peer{UID: int(cred.Uid), GID: int(cred.Gid), PID: int(cred.Pid)}, nil
}

// admins decides who may read and change the queue: root, the daemon's own
// user, and members of admin_group (docs/operations.md, permission model).
type admins struct {
	self  int
	gid   int // -1 when no admin_group is configured
	group string
}

func newAdmins(group string) (admins, error) {
	a := admins{self: os.Getuid(), gid: -1, group: group}
	if group == "" {
		return a, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return a, fmt.Errorf("admin_group: %w", err)
	}
	a.gid, err = strconv.Atoi(g.Gid)
	if err != nil {
		return a, fmt.Errorf("admin_group %s: gid %q: %w", group, g.Gid, err)
	}
	return a, nil
}

// allows reports whether p may use the administrative operations.
func (a admins) allows(p peer) bool {
	if p.UID == 0 || p.UID == a.self {
		return true
	}
	if a.gid < 0 {
		return false
	}
	if p.GID == a.gid {
		return true
	}
	u, err := user.LookupId(strconv.Itoa(p.UID))
	if err != nil {
		return false
	}
	gids, err := u.GroupIds()
	return err == nil && slices.Contains(gids, strconv.Itoa(a.gid))
}

// denial is the text a refused peer gets.
func (a admins) denial() string {
	if a.gid < 0 {
		return "permission denied: only root and the daemon's user may read or change the queue"
	}
	return "permission denied: only root, the daemon's user and members of group " + a.group + " may read or change the queue"
}
