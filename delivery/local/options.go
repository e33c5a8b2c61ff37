package local

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/qsend/qsend/delivery/rewrite"
)

// The delivery methods.
const (
	KindMaildir = "maildir"
	KindLMTP    = "lmtp"
	KindCommand = "command"
)

// Method is how mail for a domain (or by default) is delivered.
type Method struct {
	Kind string // KindMaildir, KindLMTP or KindCommand
	// Maildir is the Maildir path template, ending in '/'; a leading "~/"
	// is the home directory of {user}, as qmail's "./Maildir/" in a home.
	Maildir string
	// LMTP is "unix:/path/to/socket" or "host:port".
	LMTP string
	// Command is the argv template; the first entry is the program.
	Command []string
	// User, when qsend runs as root, is the system user commands run as
	// (a virtual domain's owner such as "vpopmail"); empty means the
	// recipient's {user}, else "alias", as qmail-lspawn (see runAs).
	User string
}

// Options configure a Transport.
type Options struct {
	// Rewrite computes the address the local channel sees (virtualdomains
	// prepend); nil delivers to the queued address unchanged.
	Rewrite *rewrite.Rules
	Default Method
	// Domains are the methods by lower-case recipient domain, after the
	// rewrite.
	Domains map[string]Method
	// Me is this host's name, the LHLO argument and the Maildir file
	// name's host part when the system host name cannot be read.
	Me string
	// CommandTimeout bounds one command delivery; 0 means 1000 s,
	// Postfix's command_time_limit (postconf(5)).
	CommandTimeout time.Duration
	// LMTPTimeout bounds every LMTP read and write; 0 means 10 minutes.
	LMTPTimeout time.Duration
	// TempDir holds the spool file a command reads its message from;
	// "" is os.TempDir().
	TempDir string
	Logger  *slog.Logger
	Now     func() time.Time
}

// method is a validated Method with its templates parsed.
type method struct {
	kind      string
	maildir   template
	underHome bool // the Maildir template starts with "~/" or uses {home}
	lmtp      string
	command   []template
	user      string // Method.User
}

func compile(m Method, where string) (*method, error) {
	c := &method{kind: m.Kind}
	switch m.Kind {
	case KindMaildir:
		path := m.Maildir
		if path == "" {
			return nil, fmt.Errorf("%s: maildir method without a Maildir template", where)
		}
		if path == "~" || strings.HasPrefix(path, "~/") {
			path = "{home}" + path[1:]
		}
		if !strings.HasSuffix(path, "/") {
			path += "/" // qmail-local: a Maildir ends in '/'
		}
		t, err := parseTemplate(path)
		if err != nil {
			return nil, fmt.Errorf("%s: maildir: %w", where, err)
		}
		if len(t.parts) == 0 || (t.parts[0].f == fLiteral && !strings.HasPrefix(t.parts[0].lit, "/")) {
			return nil, fmt.Errorf("%s: maildir %q is not an absolute path, \"~/...\" or \"{home}/...\"", where, m.Maildir)
		}
		c.maildir, c.underHome = t, t.uses(fHome)
	case KindLMTP:
		if m.LMTP == "" {
			return nil, fmt.Errorf("%s: lmtp method without an address", where)
		}
		c.lmtp = m.LMTP
	case KindCommand:
		if len(m.Command) == 0 || m.Command[0] == "" {
			return nil, fmt.Errorf("%s: command method without a program", where)
		}
		c.user = m.User
		for i, a := range m.Command {
			t, err := parseTemplate(a)
			if err != nil {
				return nil, fmt.Errorf("%s: command argument %d: %w", where, i, err)
			}
			c.command = append(c.command, t)
		}
	default:
		return nil, fmt.Errorf("%s: unknown transport %q (want maildir, lmtp or command)", where, m.Kind)
	}
	return c, nil
}

func (o Options) withDefaults() Options {
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 1000 * time.Second
	}
	if o.LMTPTimeout <= 0 {
		o.LMTPTimeout = 10 * time.Minute
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
