package postfixtest

import (
	"fmt"
	"os"
	"path/filepath"
)

// dir is a directory of the instance with its owner and mode.
type dir struct {
	path  string
	owner int // ownerRoot or ownerMail
	group int // groupRoot, groupMail or groupSetgid
	mode  os.FileMode
}

const (
	ownerRoot = iota
	ownerMail
)

const (
	groupRoot = iota
	groupMail
	groupSetgid
)

// dirs are the directories an instance needs. The queue directories and
// their modes are those of Postfix's postfix-files ("postfix check" would
// create them the same way through post-install create-missing, but takes
// seconds of shell).
var dirs = []dir{
	{"etc", ownerRoot, groupRoot, 0o755},
	// data_directory belongs to the mail owner (master.lock, TLS caches).
	{"data", ownerMail, groupMail, 0o700},
	// The virtual delivery agent writes the Maildir as the mail owner.
	{"mail", ownerMail, groupMail, 0o755},
	{"queue", ownerRoot, groupRoot, 0o755},
	{"queue/active", ownerMail, groupRoot, 0o700},
	{"queue/bounce", ownerMail, groupRoot, 0o700},
	{"queue/corrupt", ownerMail, groupRoot, 0o700},
	{"queue/defer", ownerMail, groupRoot, 0o700},
	{"queue/deferred", ownerMail, groupRoot, 0o700},
	{"queue/flush", ownerMail, groupRoot, 0o700},
	{"queue/hold", ownerMail, groupRoot, 0o700},
	{"queue/incoming", ownerMail, groupRoot, 0o700},
	{"queue/private", ownerMail, groupRoot, 0o700},
	{"queue/maildrop", ownerMail, groupSetgid, 0o730},
	{"queue/public", ownerMail, groupSetgid, 0o710},
	{"queue/pid", ownerRoot, groupRoot, 0o755},
	{"queue/saved", ownerMail, groupRoot, 0o700},
	{"queue/trace", ownerMail, groupRoot, 0o700},
}

// makeDirs creates dirs under root for the mail owner uid:gid and the
// setgid group postdrop.
func makeDirs(root string, uid, gid, postdrop int) error {
	for _, d := range dirs {
		path := filepath.Join(root, d.path)
		if err := os.Mkdir(path, d.mode); err != nil {
			return fmt.Errorf("postfixtest: %w", err)
		}
		u, g := 0, 0
		if d.owner == ownerMail {
			u = uid
		}
		switch d.group {
		case groupMail:
			g = gid
		case groupSetgid:
			g = postdrop
		}
		// Chmod as well: Mkdir's mode is filtered by the umask.
		if err := os.Chown(path, u, g); err != nil {
			return fmt.Errorf("postfixtest: %w", err)
		}
		if err := os.Chmod(path, d.mode); err != nil {
			return fmt.Errorf("postfixtest: %w", err)
		}
	}
	return nil
}
