package smtpd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/qsend/qsend/smtpd/auth"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/tls/ciphers"
)

// Queue stores accepted messages durably.
type Queue interface {
	// Enqueue stores a message and returns only once it is durable
	// (fsynced). body holds qmail-smtpd's Received line followed by the
	// message with LF line ends, as qmail-smtpd hands it to qmail-queue;
	// the queue adds qmail-queue's own Received line in front. When
	// reading body fails, Enqueue must store nothing and return an error.
	// An *intake.Error reports a qmail-queue exit code; any other error is
	// temporary. origin describes the client the message came from.
	Enqueue(ctx context.Context, env envelope.Envelope, origin Origin, body io.Reader) error
}

// Matcher is one of the qregex lists (badmailfrom, badrcptto, badhelo and
// their norelay variants), built elsewhere.
type Matcher interface {
	// Match reports whether s is listed.
	Match(s string) bool
}

// DomainSet holds rcpthosts and morercpthosts entries: domains and
// ".suffix" lines. Contains answers exact entries only; smtpd walks the
// labels itself (qmail-smtpd.c addrallowed(), rcpthosts.c: the whole domain, then each
// ".suffix" of it), so "mail.example.com" is accepted by an entry
// ".example.com" through Contains(".example.com").
type DomainSet interface {
	// Contains reports whether domain (lower case) is an entry.
	Contains(domain string) bool
}

// ErrAuthRejected is what a PasswordChecker returns, possibly wrapped, for
// a user name and password it refuses; the client gets 535. It is the
// error of package auth's checkers.
var ErrAuthRejected = auth.ErrRejected

// PasswordChecker checks SMTP AUTH credentials.
type PasswordChecker interface {
	// Check returns nil when the credentials are accepted, an error
	// matching ErrAuthRejected when they are refused, and any other error
	// for a temporary failure (the client gets 454).
	Check(ctx context.Context, user, pass string) error
}

// CertRelay is the qmail-tls client-certificate relay check
// (qmail-tls qmail-smtpd.c tls_verify(), README.starttls): control/tlsclients,
// clientca.pem and clientcrl.pem.
type CertRelay interface {
	// Active reports whether tlsclients exists: then the TLS handshake
	// requests (but does not require) a client certificate.
	Active() bool
	// ClientCAs is the pool whose subjects are sent as acceptable CAs.
	ClientCAs() *x509.CertPool
	// Check verifies the presented certificate and returns its e-mail
	// address when it may relay. The error text is qmail-tls's reason,
	// used in "no valid cert for gatewaying: <reason>". Check is only
	// called when the client presented a certificate.
	Check(cs tls.ConnectionState) (email string, err error)
}

// Options configure a Server. Zero values take the defaults named.
type Options struct {
	// Me is control/me; required.
	Me string
	// Greeting is control/smtpgreeting (default Me), used in the 220
	// banner and the HELO, EHLO and QUIT replies.
	Greeting string
	// LocalIPHost is control/localiphost (default Me): box@[local IP]
	// becomes box@LocalIPHost (qmail-smtpd.c addrparse()).
	LocalIPHost string

	// Rcpthosts is rcpthosts and morercpthosts together. Nil means the
	// files are absent: then only Locals are accepted as recipient
	// domains from clients that may not relay (a deliberate deviation:
	// qmail accepts everything).
	Rcpthosts DomainSet
	// Locals is control/locals; Me is always added.
	Locals []string

	BadMailFrom        Matcher // control/badmailfrom
	BadRcptTo          Matcher // control/badrcptto (badmailto)
	BadHelo            Matcher // control/badhelo
	BadMailFromNoRelay Matcher // control/badmailfromnorelay, for clients that may not relay
	BadRcptToNoRelay   Matcher // control/badrcpttonorelay, for clients that may not relay

	// Databytes is control/databytes: the largest message accepted, in
	// bytes as stored; 0 is no limit. Conn.Databytes overrides it.
	Databytes int64
	// Timeout is control/timeoutsmtpd, the limit on each read and write
	// (default 1200 s), and on the arrival of a whole command line.
	Timeout time.Duration
	// MaxLine bounds a command line including CRLF (default 4096; at
	// least 512, RFC 5321 §4.5.3.1.4).
	MaxLine int
	// MaxRcpts bounds the recipients of one message (default 1000; RFC
	// 5321 §4.5.3.1.8 asks for at least 100).
	MaxRcpts int
	// MaxHeaderBytes bounds the header of a message (default 256 KiB).
	MaxHeaderBytes int64
	// MaxErrors is how many error replies a session may get before it is
	// closed with 421 (default 20).
	MaxErrors int

	// TLS returns the server's TLS configuration (certificate, ciphers,
	// minimum version), or nil when there is no certificate: then
	// STARTTLS is not offered. It is called at each EHLO and STARTTLS,
	// so it must be cheap; the result is cloned per connection.
	TLS func() *tls.Config
	// CipherSuites maps a TLSCIPHERS value (an OpenSSL cipher string) to
	// cipher suites for Conn.TLSCiphers (default ciphers.Parse).
	CipherSuites func(spec string) ([]uint16, error)
	// CertRelay enables client-certificate relaying; nil disables it.
	CertRelay CertRelay
	// Auth enables SMTP AUTH PLAIN and LOGIN; nil disables it.
	Auth PasswordChecker
	// AuthWithoutTLS offers AUTH outside TLS to loopback clients
	// (smtpd.auth_without_tls: loopback); other clients need TLS first.
	AuthWithoutTLS bool
	// RequireAuth makes every session a submission session: MAIL needs
	// AUTH first.
	RequireAuth bool
	// AuthFailDelay is how long a failed AUTH waits before its 535
	// (default 2 s; negative: no delay).
	AuthFailDelay time.Duration
	// MaxAuthFailures is how many failed AUTHs a client address may have
	// within AuthFailWindow before AUTH is refused with 421 (default 10).
	MaxAuthFailures int
	// AuthFailWindow is the window for MaxAuthFailures (default 15 min).
	AuthFailWindow time.Duration
	// MaxAuthConcurrent bounds the AUTH attempts of one client address
	// (or IPv6 /64) being checked at once (default 2, see
	// auth.LimiterOptions.MaxConcurrent); more get 454 (RFC 4954 §6).
	MaxAuthConcurrent int

	// BareLF is "reject" (the default: qmail's 451 and close) or
	// "normalize" (a bare LF ends a line, as Postfix's normalize).
	BareLF string

	// Queue stores accepted messages; required.
	Queue Queue
	// Logger receives a line per session and per accepted message; nil
	// discards them.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// PID is the "qp" number in "250 ok <time> qp <pid>" (default the
	// process id).
	PID int

	// MaxConnections bounds the sessions of a Server (default 1000).
	MaxConnections int
	// MaxPerClient bounds the sessions of one client address, or one
	// IPv6 /64 (default 50).
	MaxPerClient int
	// RelayReserve is the share of MaxConnections kept for clients that
	// may relay when they connect (RELAYCLIENT, loopback): other clients
	// are refused, or displace an idle session, once they hold the rest
	// (default 0.1; negative: none).
	RelayReserve float64
	// BusyIdleTimeout is how long a session of a client that may not
	// relay may wait for the client once the connection limit is
	// reached: a new connection then displaces the session that has
	// waited longest beyond it (default 10 s, the smtpd_timeout Postfix
	// applies under stress; negative: a full server refuses newcomers).
	BusyIdleTimeout time.Duration
	// SessionTimeout bounds a whole session (default 1 hour; negative:
	// no bound). Postfix has no such total; its smtpd_timeout bounds each
	// command, as Timeout does here.
	SessionTimeout time.Duration
	// MinDataRate is the rate in bytes per second DATA must keep up after
	// DataGrace (default 500, Postfix's smtpd_min_data_rate; negative: no
	// rate): by any instant the client must have sent
	// MinDataRate × (time since DATA − DataGrace) bytes.
	MinDataRate int64
	// DataGrace is the time DATA has before MinDataRate applies (default
	// 300 s, Postfix's smtpd_timeout, which its smtpd_per_request_deadline
	// extends by the data received).
	DataGrace time.Duration
	// Rules, when set, is called by Serve for each accepted connection
	// before its session starts, to fill in per-client settings as
	// tcpserver's rules do (relay, databytes, ciphers, remote host name).
	// An error closes the connection without a greeting, as a tcprules
	// deny does.
	Rules func(ctx context.Context, c *Conn) error
}

// BareLF values.
const (
	BareLFReject    = "reject"
	BareLFNormalize = "normalize"
)

const (
	defaultTimeout         = 1200 * time.Second // qmail-smtpd.8, control/timeoutsmtpd
	defaultMaxLine         = 4096
	minMaxLine             = 512 // RFC 5321 §4.5.3.1.4
	defaultMaxRcpts        = 1000
	defaultMaxHeaderBytes  = 256 << 10
	defaultMaxErrors       = 20
	defaultAuthFailDelay   = 2 * time.Second
	defaultMaxAuthFailures = 10
	defaultAuthFailWindow  = 15 * time.Minute
	defaultMaxConnections  = 1000
	defaultMaxPerClient    = 50
	defaultAuthConcurrent  = 2
	defaultRelayReserve    = 0.1
	defaultBusyIdle        = 10 * time.Second // Postfix: smtpd_timeout under stress
	defaultSessionTimeout  = time.Hour
	defaultMinDataRate     = 500               // Postfix: smtpd_min_data_rate
	defaultDataGrace       = 300 * time.Second // Postfix: smtpd_timeout
)

// withDefaults checks o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if strings.TrimSpace(o.Me) == "" {
		errs = append(errs, errors.New("smtpd: Options.Me (control/me) is empty"))
	}
	if o.Queue == nil {
		errs = append(errs, errors.New("smtpd: Options.Queue is nil"))
	}
	if o.Databytes < 0 {
		errs = append(errs, fmt.Errorf("smtpd: Options.Databytes (databytes) is negative: %d", o.Databytes))
	}
	switch o.BareLF {
	case "":
		o.BareLF = BareLFReject
	case BareLFReject, BareLFNormalize:
	default:
		errs = append(errs, fmt.Errorf("smtpd: Options.BareLF is %q, want %q or %q", o.BareLF, BareLFReject, BareLFNormalize))
	}
	if o.MaxLine != 0 && o.MaxLine < minMaxLine {
		errs = append(errs, fmt.Errorf("smtpd: Options.MaxLine %d is below RFC 5321's %d", o.MaxLine, minMaxLine))
	}
	if len(errs) > 0 {
		return o, errors.Join(errs...)
	}
	if o.Greeting == "" {
		o.Greeting = o.Me
	}
	if o.LocalIPHost == "" {
		o.LocalIPHost = o.Me
	}
	o.Locals = append([]string{strings.ToLower(o.Me)}, o.Locals...)
	for i, l := range o.Locals {
		o.Locals[i] = strings.ToLower(l)
	}
	o.Timeout = orDefault(o.Timeout, defaultTimeout)
	o.MaxLine = orDefault(o.MaxLine, defaultMaxLine)
	o.MaxRcpts = orDefault(o.MaxRcpts, defaultMaxRcpts)
	o.MaxHeaderBytes = orDefault(o.MaxHeaderBytes, defaultMaxHeaderBytes)
	o.MaxErrors = orDefault(o.MaxErrors, defaultMaxErrors)
	o.AuthFailDelay = orDefault(o.AuthFailDelay, defaultAuthFailDelay)
	o.MaxAuthFailures = orDefault(o.MaxAuthFailures, defaultMaxAuthFailures)
	o.AuthFailWindow = orDefault(o.AuthFailWindow, defaultAuthFailWindow)
	o.MaxConnections = orDefault(o.MaxConnections, defaultMaxConnections)
	o.MaxPerClient = orDefault(o.MaxPerClient, defaultMaxPerClient)
	o.MaxAuthConcurrent = orDefault(o.MaxAuthConcurrent, defaultAuthConcurrent)
	o.RelayReserve = orDefault(o.RelayReserve, defaultRelayReserve)
	o.BusyIdleTimeout = orDefault(o.BusyIdleTimeout, defaultBusyIdle)
	o.SessionTimeout = orDefault(o.SessionTimeout, defaultSessionTimeout)
	o.MinDataRate = orDefault(o.MinDataRate, defaultMinDataRate)
	o.DataGrace = orDefault(o.DataGrace, defaultDataGrace)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CipherSuites == nil {
		o.CipherSuites = ciphers.Parse
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	return o, nil
}

func orDefault[T int | int64 | float64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
