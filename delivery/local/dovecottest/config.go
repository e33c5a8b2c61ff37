package dovecottest

import (
	"fmt"
	"strings"
)

// instance is what the configuration of one private Dovecot names.
type instance struct {
	dir      string // the instance directory
	port     int    // LMTP over TCP on 127.0.0.1
	mailUser string // owner of the mailboxes (mail_uid, mail_gid)
}

func (in instance) baseDir() string   { return in.dir + "/run" }
func (in instance) stateDir() string  { return in.dir + "/state" }
func (in instance) homeDir() string   { return in.dir + "/home" }
func (in instance) socket() string    { return in.dir + "/lmtp" }
func (in instance) logFile() string   { return in.dir + "/dovecot.log" }
func (in instance) usersFile() string { return in.dir + "/users" }
func (in instance) confFile() string  { return in.dir + "/dovecot.conf" }

// home is a user's home directory; the Maildir is home/Maildir.
func (in instance) home(user string) string { return in.homeDir() + "/" + user }

// config renders dovecot.conf for Dovecot 2.3: only the LMTP protocol, on a
// Unix socket in the instance directory and on 127.0.0.1:port; users from
// a passwd-file, Maildirs under home/USER owned by mailUser; everything the
// instance writes stays in its directory. The file is complete: nothing of
// /etc/dovecot is read.
func (in instance) config() string {
	var b strings.Builder
	set := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, v) }
	set("base_dir", in.baseDir())
	set("state_dir", in.stateDir())
	// A distinct instance name keeps parallel instances apart in the
	// process titles and in doveadm.
	set("instance_name", "dovecottest-"+in.dir[strings.LastIndexByte(in.dir, '/')+1:])
	set("protocols", "lmtp")
	set("listen", "127.0.0.1")
	set("hostname", "dovecottest.invalid")
	set("log_path", in.logFile())
	set("ssl", "no")
	// RCPT TO:<alice@any.domain> and <alice> both find the user "alice".
	set("auth_username_format", "%Ln")
	set("mail_uid", in.mailUser)
	set("mail_gid", in.mailUser)
	set("first_valid_uid", "1")
	set("first_valid_gid", "1")
	set("mail_location", "maildir:~/Maildir")
	set("default_internal_user", "dovecot")
	set("default_login_user", "dovenull")
	fmt.Fprintf(&b, `passdb {
  driver = passwd-file
  args = %[1]s
}
userdb {
  driver = passwd-file
  args = %[1]s
  default_fields = home=%[2]s/%%n
}
service lmtp {
  unix_listener %[3]s {
    mode = 0666
  }
  inet_listener lmtp {
    address = 127.0.0.1
    port = %[4]d
  }
}
`, in.usersFile(), in.homeDir(), in.socket(), in.port)
	return b.String()
}

// users renders the passwd-file: one line per user with every field but
// the name empty (uid, gid and home come from the defaults).
func users(names []string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n + ":::::\n")
	}
	return b.String()
}
