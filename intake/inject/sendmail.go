package inject

import (
	"maps"
	"strings"

	"github.com/qsend/qsend/internal/envelope"
)

// SendmailMode is what a sendmail command line asks for.
type SendmailMode int

const (
	// SendmailInject queues a message through qmail-inject (-bm, the
	// default).
	SendmailInject SendmailMode = iota
	// SendmailQueueList lists the queue (-bp), as mailq.
	SendmailQueueList
	// SendmailSMTP runs an SMTP session on stdin and stdout (-bs).
	SendmailSMTP
	// SendmailFlush retries the queue now (-q).
	SendmailFlush
	// SendmailNewAliases rebuilds the aliases database (-bi, newaliases):
	// qsend has none, so there is nothing to do.
	SendmailNewAliases
)

// Sendmail is a sendmail command line translated as qmail's sendmail
// wrapper translates it (sendmail.c).
type Sendmail struct {
	Mode SendmailMode
	// InjectArgs are qmail-inject's arguments (after the program name):
	// -H with -t, else -a; then -f sender when given; then -- and the
	// recipients.
	InjectArgs []string
	// Env is the environment for qmail-inject or the SMTP session, with
	// what -F, -f and -bs change in it.
	Env map[string]string
}

// SendmailUsage is the usage line qmail's sendmail prints.
const SendmailUsage = "sendmail: usage: sendmail [ -t ] [ -fsender ] [ -Fname ] [ -bp ] [ -bs ] [ arg ... ]"

// ParseSendmail reads a sendmail command line, without the program name,
// with qmail's getopt string "vimte:f:p:o:B:F:EJxb:" plus -q. An option
// qmail's sendmail does not know is an *Error with exit status 100 and
// sgetopt's complaint followed by the usage line. env is not changed.
//
// -t reads recipients from the header as well; -f sets the envelope
// sender and makes the From field follow it; -F sets the full name; -bp
// lists the queue, -bs runs an SMTP session, -bm is the default and -bi
// (newaliases) does nothing; -B -p -v -i -x -m -e -o* -E -J are accepted
// and ignored. -q (flush) is a qsend addition: qmail's sendmail refuses it.
func ParseSendmail(args []string, env map[string]string) (Sendmail, error) {
	sm := Sendmail{Env: maps.Clone(env)}
	if sm.Env == nil {
		sm.Env = map[string]string{}
	}
	g := &getopt{args: args, opts: "vimte:f:p:o:B:F:EJxb:q"}
	header := false
	sender, senderSet := "", false
	usage := func(complaint string) (Sendmail, error) {
		msg := SendmailUsage
		if complaint != "" {
			msg = complaint + "\n" + msg
		}
		return Sendmail{}, &Error{Code: ExitPermanent, Msg: msg}
	}
	for {
		c, ok := g.next()
		if !ok {
			break
		}
		switch c {
		case 't':
			header = true
		case 'f':
			sender, senderSet = g.arg, true
		case 'F':
			sm.Env["MAILNAME"] = g.arg
		case 'B', 'p', 'v', 'i', 'x', 'm', 'e', 'o':
			// Accepted and ignored: qmail has one delivery mode and one
			// error mode, and -i (-oi) is what it always does.
		case 'E', 'J':
			g.skipWord() // their optional argument (Sony NEWS-OS)
		case 'q':
			// sendmail's -q[time] runs the queue; the daemon keeps its own
			// schedule, so any interval means "now".
			g.skipWord()
			sm.Mode = SendmailFlush
			return sm, nil
		case 'b':
			switch {
			case strings.HasPrefix(g.arg, "m"):
			case strings.HasPrefix(g.arg, "p"):
				sm.Mode = SendmailQueueList
				return sm, nil
			case strings.HasPrefix(g.arg, "s"):
				sm.Mode = SendmailSMTP
				smtpEnv(sm.Env)
				return sm, nil
			case strings.HasPrefix(g.arg, "i"):
				// sendmail -bi is newaliases; qmail's sendmail refuses it
				// and its newaliases exits 100 ("please use
				// fastforward/newaliases instead"). qsend keeps no aliases
				// database, so it succeeds without doing anything, which is
				// what package scripts calling newaliases need.
				sm.Mode = SendmailNewAliases
				return sm, nil
			default:
				return usage("")
			}
		default:
			return usage(g.complaint("sendmail"))
		}
	}
	ia := []string{"-a"}
	if header {
		ia[0] = "-H"
	}
	if senderSet {
		ia = append(ia, "-f", sender)
		useSender(sm.Env, sender)
	}
	sm.InjectArgs = append(append(ia, "--"), g.rest()...)
	return sm, nil
}

// useSender makes qmail-inject's From follow the -f address: the full name
// and host variables go, QMAILUSER becomes the part before the last "@" and
// QMAILHOST the part after it (netqmail's "sendmail's -f flag now
// overrides environment variables", sendmail.c).
func useSender(env map[string]string, sender string) {
	for _, n := range []string{"QMAILNAME", "MAILNAME", "NAME", "QMAILHOST", "MAILHOST"} {
		delete(env, n)
	}
	local, host, ok := envelope.Split(sender)
	if !ok {
		env["QMAILUSER"] = sender
		return
	}
	env["QMAILHOST"] = host
	env["QMAILUSER"] = local
}

// smtpEnv sets what qmail's sendmail -bs gives qmail-smtpd when PROTO is
// not set: relaying allowed, no size limit, and a TCP connection from and
// to 127.0.0.1 (sendmail.c).
func smtpEnv(env map[string]string) {
	if _, ok := env["PROTO"]; ok {
		return
	}
	env["RELAYCLIENT"] = ""
	env["DATABYTES"] = "0"
	env["PROTO"] = "TCP"
	env["TCPLOCALIP"] = "127.0.0.1"
	env["TCPLOCALHOST"] = "localhost"
	env["TCPREMOTEIP"] = "127.0.0.1"
	env["TCPREMOTEHOST"] = "localhost"
	env["TCPREMOTEINFO"] = "sendmail-bs"
}
