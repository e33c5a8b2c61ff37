package config

import (
	"log/slog"
	"time"

	"github.com/spf13/pflag"
)

// Listener is one SMTP listener of the daemon (smtpd.listen).
type Listener struct {
	Address string       `json:"address"`
	Mode    ListenerMode `json:"mode"` // smtp, submission or smtps
}

// LocalDomain is one entry of local.domains: how mail for a recipient
// domain (after qmail's rewrite, so a virtual domain's own name) is
// delivered on the local channel.
type LocalDomain struct {
	Domain    string         `json:"domain"`            // lower-case
	Transport LocalTransport `json:"transport"`         // maildir, lmtp or command; default maildir
	Maildir   string         `json:"maildir,omitempty"` // empty in the file: local.maildir
	LMTP      string         `json:"lmtp,omitempty"`    // "unix:/path" or "host:port"
	Command   []string       `json:"command,omitempty"` // argv template
	User      string         `json:"user,omitempty"`    // system user commands run as (root daemon); empty: local.user
}

// Config is the effective configuration. The zero value is not useful; use
// Load.
type Config struct {
	File string // the YAML file that was read, "" if none

	StateDir   string // state_dir
	ControlDir string // control_dir
	AdminGroup string // admin_group: group whose members may read and change the queue

	LogFormat LogFormat  // log.format: text, json or qmail
	LogLevel  slog.Level // log.level

	StoreBatchDelay time.Duration // store.batch_delay: group-commit window

	DNSResolvers        []string // dns.resolvers
	DNSTrustedResolvers []string // dns.trusted_resolvers
	RemotePort          int      // remote.port
	// RemoteDestinationConcurrency is remote.destination_concurrency.
	RemoteDestinationConcurrency int
	SMTPDListen                  []Listener // smtpd.listen
	MetricsListen                string     // metrics.listen

	// The deadlines of the steps of a remote SMTP session: remote.helo_timeout,
	// remote.starttls_timeout, remote.mail_timeout, remote.rcpt_timeout,
	// remote.data_init_timeout, remote.data_xfer_timeout,
	// remote.data_done_timeout and remote.session_timeout; and
	// remote.min_data_rate in bytes per second.
	RemoteHeloTimeout, RemoteStartTLSTimeout, RemoteMailTimeout, RemoteRcptTimeout time.Duration
	RemoteDataInitTimeout, RemoteDataXferTimeout, RemoteDataDoneTimeout            time.Duration
	RemoteSessionTimeout                                                           time.Duration
	RemoteMinDataRate                                                              int

	TLSPolicy         []TLSRule     // tls.policy
	TLSDefaultLevel   TLSLevel      // tls.default_level
	TLSMinVersion     TLSVersion    // tls.min_version: 1.0 to 1.3
	TLSOnExpiry       ExpiryAction  // tls.on_expiry: hold or bounce
	TLSPlaintextAfter time.Duration // tls.plaintext_after
	TLSRememberBroken time.Duration // tls.remember_broken
	TLSMTASTS         bool          // tls.mta_sts: on or off
	TLSMTASTSCA       string        // tls.mta_sts_ca: extra CA file for policy fetches
	TLSDANE           bool          // tls.dane: on or off
	TLSClientCert     string        // tls.client_cert ("" = control_dir/clientcert.pem)
	TLSServerCert     string        // tls.server_cert ("" = control_dir/servercert.pem)
	TLSClientCA       string        // tls.client_ca ("" = control_dir/clientca.pem)
	TLSClientCRL      string        // tls.client_crl ("" = control_dir/clientcrl.pem)

	SMTPDQmailQueue        string         // smtpd.qmailqueue: a qmail-queue program for the listeners
	SMTPDTCPRules          string         // smtpd.tcprules: tcprules cdb for the listeners
	SMTPDAuthCheckpassword []string       // smtpd.auth_checkpassword: program and arguments
	SMTPDAuthPasswords     string         // smtpd.auth_passwords: password file
	SMTPDAuthWithoutTLS    AuthWithoutTLS // smtpd.auth_without_tls: never or loopback
	SMTPDAuthMaxFailures   int            // smtpd.auth_max_failures per client
	SMTPDAuthFailDelay     time.Duration  // smtpd.auth_fail_delay
	SMTPDBareLF            BareLF         // smtpd.bare_lf: reject or normalize
	SMTPDMaxLine           int            // smtpd.max_line
	SMTPDMaxRcpts          int            // smtpd.max_rcpts
	SMTPDMaxHeader         int            // smtpd.max_header: bytes
	SMTPDMaxErrors         int            // smtpd.max_errors
	SMTPDMaxConnections    int            // smtpd.max_connections
	SMTPDMaxPerClient      int            // smtpd.max_per_client
	SMTPDAuthConcurrency   int            // smtpd.auth_concurrency: AUTH checks at once per client
	SMTPDRelayReserve      float64        // smtpd.relay_reserve: share of connections for relay clients
	SMTPDBusyIdleTimeout   time.Duration  // smtpd.busy_idle_timeout: 0 = never displace
	SMTPDSessionTimeout    time.Duration  // smtpd.session_timeout: 0 = no limit
	SMTPDMinDataRate       int            // smtpd.min_data_rate: bytes/s, 0 = none
	SMTPDDataGrace         time.Duration  // smtpd.data_grace

	LocalTransport LocalTransport // local.transport: maildir, lmtp or command
	LocalMaildir   string         // local.maildir: Maildir template ("~/Maildir/")
	LocalLMTP      string         // local.lmtp: "unix:/path" or "host:port"
	LocalCommand   []string       // local.command: argv template
	LocalUser      string         // local.user: system user commands run as; "" the recipient's
	LocalDomains   []LocalDomain  // local.domains: per-domain methods

	DKIMKeys []DKIMKey // dkim.keys: key files outside control_dir/domainkeys

	RetrySchedule RetrySchedule // retry.schedule: qmail or exponential
	RetryInitial  time.Duration // retry.initial: first wait of the exponential schedule
	RetryMax      time.Duration // retry.max: its cap
	RetryJitter   float64       // retry.jitter: its random spread, 0..1

	BounceFormat  BounceFormat  // bounce.format: qmail or dsn
	BounceMaxBody int64         // bounce.max_body: largest original a DSN returns whole
	DelayWarning  time.Duration // bounce.delay_warning: 0 sends no delay warnings

	// Values with a qmail control file of the same name.
	Me                 string
	DefaultDomain      string
	DefaultHost        string
	PlusDomain         string
	IDHost             string
	Locals             []string
	RcptHosts          []string // nil when neither file nor key exists
	MoreRcptHosts      []string
	VirtualDomains     []string // raw lines, parsed by the local router
	PercentHack        []string
	SMTPRoutes         []string // raw lines, parsed by the remote router
	HeloHost           string
	SMTPGreeting       string
	LocalIPHost        string
	TimeoutConnect     time.Duration
	TimeoutRemote      time.Duration
	TimeoutSMTPD       time.Duration
	DataBytes          int64
	QueueLifetime      time.Duration
	ConcurrencyLocal   int
	ConcurrencyRemote  int
	BounceFrom         string
	BounceHost         string
	DoubleBounceTo     string
	DoubleBounceHost   string
	EnvNoAtHost        string
	BadMailFrom        []string
	BadRcptTo          []string
	BadHelo            []string
	BadMailFromNoRelay []string
	BadRcptToNoRelay   []string
	TLSClientCiphers   []string // lines; joined with ":" (qmail-tls qmail-remote.c tls_init())
	TLSServerCiphers   []string

	origins map[string]string // key → where its value came from
}

// Options say where Load looks.
type Options struct {
	// File is the --config flag's value; "" means the --config flag in
	// Flags, then $QSEND_CONFIG, then /etc/qsend/qsend.yaml if it exists.
	File string
	// Flags holds the flags added by AddFlags; only flags the user set count.
	Flags *pflag.FlagSet
	// Environ is the environment in os.Environ form; nil means os.Environ().
	Environ []string
	// UID is the caller's uid; -1 means os.Getuid(). No default depends
	// on it: every uid finds the same system queue (see Locate).
	UID int
	// Hostname is the fallback for me when control/me does not exist; ""
	// means os.Hostname().
	Hostname string
	// DefaultFile replaces DefaultFile (/etc/qsend/qsend.yaml) as the file
	// read when none is named; "" means DefaultFile.
	DefaultFile string
}
