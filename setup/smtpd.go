// The SMTP server's options come from qmail-smtpd's control files (rcpthosts, morercpthosts and
// its cdb, the qregex bad lists, databytes, timeoutsmtpd), qmail-tls's
// (servercert.pem, tlsserverciphers, tlsclients, clientca.pem,
// clientcrl.pem), SMTP AUTH backends, tcprules for the listeners, and the
// limits. The daemon's listeners and `qsend smtpd` use the same code, so
// both behave alike.

package setup

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/smtpd"
	"github.com/qsend/qsend/smtpd/auth"
	"github.com/qsend/qsend/smtpd/cdb"
	"github.com/qsend/qsend/smtpd/qregex"
	"github.com/qsend/qsend/smtpd/tcprules"
	"github.com/qsend/qsend/tls/certfile"
	"github.com/qsend/qsend/tls/certrelay"
	"github.com/qsend/qsend/tls/ciphers"
)

// Built is an SMTP server's options and what must be closed with the
// server.
type Built struct {
	Options smtpd.Options
	closers []func() error
}

// Close releases the files the options hold open (cdb files).
func (b *Built) Close() error {
	var errs []error
	for _, c := range b.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// SMTPOptions builds the SMTP server's options for cfg; q stores accepted
// messages.
// Every error names the key or file at fault, so a bad configuration
// stops the daemon or the session before a client is answered.
func SMTPOptions(cfg *config.Config, q smtpd.Queue, log *slog.Logger) (*Built, error) {
	b := &Built{}
	o := smtpd.Options{
		Me:              cfg.Me,
		Greeting:        cfg.SMTPGreeting,
		LocalIPHost:     cfg.LocalIPHost,
		Locals:          cfg.Locals,
		Databytes:       cfg.DataBytes,
		Timeout:         cfg.TimeoutSMTPD,
		MaxLine:         cfg.SMTPDMaxLine,
		MaxRcpts:        cfg.SMTPDMaxRcpts,
		MaxHeaderBytes:  int64(cfg.SMTPDMaxHeader),
		MaxErrors:       cfg.SMTPDMaxErrors,
		MaxConnections:  cfg.SMTPDMaxConnections,
		MaxPerClient:    cfg.SMTPDMaxPerClient,
		MaxAuthFailures: cfg.SMTPDAuthMaxFailures,
		AuthFailDelay:   cfg.SMTPDAuthFailDelay,
		AuthWithoutTLS:  cfg.SMTPDAuthWithoutTLS == config.AuthLoopback,
		BareLF:          bareLF(cfg.SMTPDBareLF),
		Queue:           q,
		Logger:          log,
		CipherSuites:    ciphers.Parse,
	}
	if cfg.SMTPDAuthFailDelay == 0 {
		o.AuthFailDelay = -1 // smtpd: negative is no delay, 0 its default
	}
	o.MaxAuthConcurrent = cfg.SMTPDAuthConcurrency
	o.DataGrace = cfg.SMTPDDataGrace
	// The keys' 0 is "none", which smtpd spells negative (0 is its default).
	o.RelayReserve = noneIsNegative(cfg.SMTPDRelayReserve)
	o.BusyIdleTimeout = noneIsNegative(cfg.SMTPDBusyIdleTimeout)
	o.SessionTimeout = noneIsNegative(cfg.SMTPDSessionTimeout)
	o.MinDataRate = noneIsNegative(int64(cfg.SMTPDMinDataRate))
	var err error
	if err = b.lists(cfg, &o); err != nil {
		b.Close()
		return nil, err
	}
	if err = b.rcpthosts(cfg, &o); err != nil {
		b.Close()
		return nil, err
	}
	if o.TLS, err = serverTLS(cfg, log); err != nil {
		b.Close()
		return nil, err
	}
	if cfg.ControlDir != "" {
		relay, err := certrelay.New(certrelay.Options{ControlDir: cfg.ControlDir, ClientCA: cfg.TLSClientCA, ClientCRL: cfg.TLSClientCRL, Logger: log})
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("tlsclients: %w", err)
		}
		o.CertRelay = relay
	}
	if o.Auth, err = passwordChecker(cfg); err != nil {
		b.Close()
		return nil, err
	}
	if cfg.SMTPDTCPRules != "" {
		db, err := tcprules.Open(cfg.SMTPDTCPRules)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("smtpd.tcprules (%s): %w", cfg.Origin("smtpd.tcprules"), err)
		}
		b.closers = append(b.closers, db.Close)
		o.Rules = rules(db)
	}
	b.Options = o
	return b, nil
}

// noneIsNegative turns a key's 0 ("none") into smtpd's -1.
func noneIsNegative[T int64 | float64 | time.Duration](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

// lists compiles the qregex bad lists (README.qregex).
func (b *Built) lists(cfg *config.Config, o *smtpd.Options) error {
	for _, l := range []struct {
		name  string
		lines []string
		dst   *smtpd.Matcher
	}{
		{"badmailfrom", cfg.BadMailFrom, &o.BadMailFrom},
		{"badrcptto", cfg.BadRcptTo, &o.BadRcptTo},
		{"badhelo", cfg.BadHelo, &o.BadHelo},
		{"badmailfromnorelay", cfg.BadMailFromNoRelay, &o.BadMailFromNoRelay},
		{"badrcpttonorelay", cfg.BadRcptToNoRelay, &o.BadRcptToNoRelay},
	} {
		if len(l.lines) == 0 {
			continue // a nil Matcher, not a typed nil: nothing is listed
		}
		list, err := qregex.Compile(l.name, l.lines)
		if err != nil {
			return fmt.Errorf("%s (%s): %w", l.name, cfg.Origin(l.name), err)
		}
		*l.dst = list
	}
	return nil
}

// rcpthosts builds the set of rcpthosts and morercpthosts, with
// morercpthosts.cdb when it exists, as qmail-smtpd consults it only when
// rcpthosts exists (rcpthosts.c rcpthosts_init()). Without rcpthosts the set
// stays nil: smtpd then accepts only local domains (docs/qmail.md, deliberate differences).
func (b *Built) rcpthosts(cfg *config.Config, o *smtpd.Options) error {
	if cfg.RcptHosts == nil {
		return nil
	}
	set := domainSet{m: map[string]bool{}}
	for _, list := range [][]string{cfg.RcptHosts, cfg.MoreRcptHosts} {
		for _, d := range list {
			set.m[strings.ToLower(d)] = true
		}
	}
	path := filepath.Join(cfg.ControlDir, "morercpthosts.cdb")
	db, err := cdb.Open(path)
	switch {
	case err == nil:
		set.cdb = db
		b.closers = append(b.closers, db.Close)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("morercpthosts.cdb: %w", err)
	}
	o.Rcpthosts = set
	return nil
}

// domainSet is rcpthosts and morercpthosts.
type domainSet struct {
	m   map[string]bool
	cdb *cdb.DB
}

func (s domainSet) Contains(domain string) bool {
	if s.m[domain] {
		return true
	}
	if s.cdb == nil {
		return false
	}
	// A read error of the cdb refuses the domain: never relay by accident.
	_, ok, _ := s.cdb.Get([]byte(domain))
	return ok
}

// serverTLS returns the server's TLS configuration function: nil when
// servercert.pem is absent (STARTTLS is then not advertised; the file is
// looked at again at every EHLO, so a certificate installed later is used
// without a restart).
func serverTLS(cfg *config.Config, log *slog.Logger) (func() *tls.Config, error) {
	path := cfg.TLSServerCert
	if path == "" {
		path = filepath.Join(cfg.ControlDir, "servercert.pem")
	}
	// qmail-tls qmail-smtpd.c tls_init(): the lines of tlsserverciphers
	// joined with ":"; empty, AEAD suites only (ciphers.ServerDefault).
	suites, err := ciphers.ParseServer(strings.Join(cfg.TLSServerCiphers, ":"))
	if err != nil {
		return nil, fmt.Errorf("tlsserverciphers (%s): %w", cfg.Origin("tlsserverciphers"), err)
	}
	minVersion, err := ciphers.ParseVersion(string(cfg.TLSMinVersion))
	if err != nil {
		return nil, fmt.Errorf("tls.min_version (%s): %w", cfg.Origin("tls.min_version"), err)
	}
	rel := certfile.NewReloader(path, log)
	base := &tls.Config{GetCertificate: rel.GetCertificate, CipherSuites: suites, MinVersion: minVersion,
		// Outlook and Exchange clients drop the connection after a Go
		// server sends a session ticket (golang/go#70232); chasquid and
		// maddy turn tickets off for the same reason.
		SessionTicketsDisabled: true}
	return func() *tls.Config {
		if !rel.Present() {
			return nil
		}
		return base
	}, nil
}

// bareLF is the SMTP server's name of an smtpd.bare_lf choice; ""
// (a Config not made by config.Load) leaves the server's default, reject.
func bareLF(b config.BareLF) string {
	switch b {
	case config.BareLFReject:
		return smtpd.BareLFReject
	case config.BareLFNormalize:
		return smtpd.BareLFNormalize
	}
	return string(b)
}

// passwordChecker is the AUTH backend: a checkpassword program, else a
// password file, else none (AUTH not offered).
func passwordChecker(cfg *config.Config) (smtpd.PasswordChecker, error) {
	switch {
	case len(cfg.SMTPDAuthCheckpassword) > 0:
		args := cfg.SMTPDAuthCheckpassword
		return &auth.Checkpassword{Path: args[0], Args: args[1:]}, nil
	case cfg.SMTPDAuthPasswords != "":
		pf, err := auth.OpenPasswordFile(cfg.SMTPDAuthPasswords, auth.PasswordFileOptions{})
		if err != nil {
			return nil, fmt.Errorf("smtpd.auth_passwords (%s): %w", cfg.Origin("smtpd.auth_passwords"), err)
		}
		return pf, nil
	}
	return nil, nil
}

// rules applies tcp.smtp.cdb to each connection as tcpserver does: a deny
// closes it, an allow sets the rule's variables (RELAYCLIENT, DATABYTES,
// TLSCIPHERS, NOBADHELO, ...) over what the listener knows.
func rules(db *tcprules.DB) func(ctx context.Context, c *smtpd.Conn) error {
	return func(_ context.Context, c *smtpd.Conn) error {
		rule, ok, err := db.Lookup(c.RemoteIP, c.RemoteHost, c.RemoteInfo)
		if err != nil {
			return fmt.Errorf("tcprules: %w", err)
		}
		if !ok {
			return nil // tcpserver: no rule allows
		}
		if !rule.Allow {
			return fmt.Errorf("tcprules: denied by rule %q", rule.Key)
		}
		// The variables the rule sets, read as qmail-smtpd reads its
		// environment; what the rule leaves unset stays as it was.
		r := smtpd.ConnFromEnv(func(k string) (string, bool) { v, ok := rule.Env[k]; return v, ok })
		for _, n := range rule.Names {
			switch n {
			case "RELAYCLIENT":
				c.Relay, c.RelayClient = r.Relay, r.RelayClient
			case "DATABYTES":
				c.Databytes = r.Databytes
			case "TLSCIPHERS":
				c.TLSCiphers = r.TLSCiphers
			case "NOBADHELO":
				c.NoBadHelo = r.NoBadHelo
			}
		}
		return nil
	}
}

// ListenerMode is the SMTP server's mode of an smtpd.listen entry: smtp
// (RFC 5321, STARTTLS when a certificate is present), submission (RFC
// 6409, AUTH before MAIL) or smtps (RFC 8314, TLS before the greeting).
func ListenerMode(m config.ListenerMode) smtpd.Mode {
	switch m {
	case config.ModeSubmission:
		return smtpd.ModeSubmission
	case config.ModeSMTPS:
		return smtpd.ModeSMTPS
	}
	return smtpd.ModeSMTP
}
