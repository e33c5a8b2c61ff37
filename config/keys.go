package config

import (
	"math"
	"time"
)

// kind is how a key's value is written and parsed.
type kind int

const (
	kString       kind = iota // a string
	kList                     // a list of strings
	kInt                      // a non-negative decimal integer
	kSeconds                  // a duration: Go syntax ("90s") or integer seconds
	kLevel                    // a log level: debug, info, warn, error
	kPath                     // an absolute path
	kAddr                     // host:port with a numeric port, or ""
	kAddrList                 // list of host:port with a numeric port
	kListeners                // list of {address, mode}
	kFraction                 // a decimal number from 0 to 1
	kLocalDomains             // list of {domain, transport, maildir, lmtp, command}
	kTLSPolicy                // list of {destination, level, ...}
	kOnOff                    // on or off, into a bool
	kDKIMKeys                 // list of {domain, selector, key}
)

// keyDef describes one configuration key. Adding a qmail control file is
// one line here plus the Config field it fills.
type keyDef struct {
	name    string // YAML key, dotted for nested ones ("log.format")
	kind    kind
	control bool     // also read from the control file of the same name
	def     string   // default in environment syntax; "" and nil lists are empty
	me      bool     // the default is the effective me ([me] for lists)
	oneOf   []string // allowed values of a kString, whose field is of an enumeration type (enums.go)
	lo, hi  int64    // range of a kInt, or of a kSeconds in nanoseconds
	reload  bool     // a SIGHUP applies a change; else it waits for the next start
	field   func(c *Config) any
	doc     string // one paragraph of Markdown for the reference (Reference)
}

// noMax is the upper bound of a range without one.
const noMax = math.MaxInt64

// keys is every configuration key. The defaults of the control keys are
// qmail's (qmail-control.5 table, qmail-send.8).
var keys = []keyDef{
	{name: "state_dir", kind: kPath, def: "/var/spool/qsend", reload: false, field: func(c *Config) any { return &c.StateDir },
		doc: "The daemon's directory: the queue file `queue.db` (0600), the control socket `qsend.sock` (0660, group `admin_group` when set), the maildrop `maildrop/` (1733) where submissions wait while the daemon is down, the `trigger` FIFO that wakes the daemon, `tmp/` and `corrupt/`. Every program finds the same one whoever runs it (the system queue, set up by `qsend install` or the daemon); a per-user queue exists only where a user names one, with a config file of their own (`--config`, `QSEND_CONFIG`) or `--state-dir`. An intake program refuses (exit 111) to leave mail in a state_dir no daemon has set up."},
	{name: "control_dir", kind: kPath, def: "/var/qmail/control", reload: true, field: func(c *Config) any { return &c.ControlDir },
		doc: "The qmail control directory. Every key that is also a qmail control file is read from the file of the same name here, with qmail's rules, unless a higher source sets it. A missing directory means no control files."},
	{name: "admin_group", kind: kString, reload: true, field: func(c *Config) any { return &c.AdminGroup },
		doc: "The group whose members may read and change the queue (list, stat, show, flush, hold, release, delete, bounce) besides root and the daemon's user; the control socket is given to this group. Empty: no such group."},
	{name: "log.format", kind: kString, def: "text", oneOf: words(logFormats), reload: false, field: func(c *Config) any { return &c.LogFormat },
		doc: "How the daemon logs: `text` and `json` are log/slog's handlers with key=value records; `qmail` writes qmail-send's lines (`new msg N`, `starting delivery N: msg M to remote r`, `delivery N: success: ...`, `status: local l/c remote r/c`) with qmail's escaping, so qmailanalog and similar tools keep working."},
	{name: "log.level", kind: kLevel, def: "info", reload: true, field: func(c *Config) any { return &c.LogLevel },
		doc: "The lowest level logged: `debug`, `info`, `warn` or `error`."},
	{name: "store.batch_delay", kind: kSeconds, def: "1ms", lo: 0, hi: int64(time.Second), reload: false, field: func(c *Config) any { return &c.StoreBatchDelay },
		doc: "The group-commit window of the queue file: how long a commit waits for concurrent enqueues to join it before the one fsync they share. At most 1s."},
	{name: "dns.resolvers", kind: kAddrList, reload: false, field: func(c *Config) any { return &c.DNSResolvers },
		doc: "Resolver addresses (`host:port`) used for MX, A/AAAA, TLSA and TXT lookups instead of those in `/etc/resolv.conf`. Empty: the system's resolvers."},
	// Resolvers whose AD bit is believed besides loopback ones (RFC 6698
	// §A.3.3, RFC 7672 §2: DNSSEC status is only as good as the path to
	// the validating resolver).
	{name: "dns.trusted_resolvers", kind: kAddrList, reload: false, field: func(c *Config) any { return &c.DNSTrustedResolvers },
		doc: "Resolvers whose DNSSEC AD bit is believed, besides loopback ones, for DANE (RFC 7672 §2): the DNSSEC status of an answer is only as good as the path to the validating resolver. Entries are `host:port` or an IP address."},
	{name: "remote.port", kind: kInt, def: "25", lo: 1, hi: 65535, reload: false, field: func(c *Config) any { return &c.RemotePort },
		doc: "The TCP port of MX hosts for remote delivery. An smtproutes entry with a port still uses its own; port 465 means SMTPS."},
	// Sessions to one recipient domain or route at once; Postfix's
	// default_destination_concurrency_limit is 20 (postconf(5)). Left at
	// its default, a quarter of concurrencyremote (Postfix's 20 against
	// default_process_limit 100) is the limit when it is lower, so that
	// one slow destination cannot hold every session.
	{name: "remote.destination_concurrency", kind: kInt, def: "20", lo: 1, hi: 65535, reload: false, field: func(c *Config) any { return &c.RemoteDestinationConcurrency },
		doc: "The most SMTP sessions to one recipient domain (or one smtproutes relay) at once, as Postfix's default_destination_concurrency_limit. It is also capped by `concurrencyremote`. When it is not set, a quarter of `concurrencyremote` (at least 1) applies if that is lower, so that a destination that holds its sessions for long (a tarpit) leaves the others three quarters of them; set it for a smarthost that takes all the mail."},
	// The deadlines of the steps of an SMTP session, Postfix's
	// smtp_*_timeout parameters and defaults (postconf(5)); package
	// delivery/smtpclient, Phases.
	{name: "remote.helo_timeout", kind: kSeconds, def: "5m", lo: int64(time.Second), hi: noMax, reload: false, field: func(c *Config) any { return &c.RemoteHeloTimeout },
		doc: "How long remote delivery waits for the whole greeting, and for the whole reply to each EHLO or HELO, however slowly its bytes arrive (Postfix's smtp_helo_timeout). `timeoutremote` still bounds each read."},
	{name: "remote.starttls_timeout", kind: kSeconds, def: "5m", lo: int64(time.Second), hi: noMax, reload: false, field: func(c *Config) any { return &c.RemoteStartTLSTimeout },
		doc: "How long STARTTLS and the TLS handshake may take together (Postfix's smtp_starttls_timeout)."},
	{name: "remote.mail_timeout", kind: kSeconds, def: "5m", lo: int64(time.Second), hi: noMax, reload: false, field: func(c *Config) any { return &c.RemoteMailTimeout },
		doc: "How long remote delivery waits for the whole reply to MAIL FROM, and to RSET between messages (Postfix's smtp_mail_timeout)."},
	{name: "remote.rcpt_timeout", kind: kSeconds, def: "5m", lo: int64(time.Second), hi: noMax, reload: false, field: func(c *Config) any { return &c.RemoteRcptTimeout },
		doc: "How long remote delivery waits for the whole reply to each RCPT TO (Postfix's smtp_rcpt_timeout)."},
	{name: "remote.data_init_timeout", kind: kSeconds, def: "2m", lo: int64(time.Second), hi: noMax, reload: false, field: func(c *Config) any { return &c.RemoteDataInitTimeout },
		doc: "How long remote delivery waits for the whole reply to DATA (Postfix's smtp_data_init_timeout)."},
	{name: "remote.data_xfer_timeout", kind: kSeconds, def: "3m", lo: int64(time.Second), hi: noMax, reload: false, field: func(c *Config) any { return &c.RemoteDataXferTimeout },
		doc: "The base of the deadline for sending a message's content: the whole transfer may take this plus the message's size divided by `remote.min_data_rate` (Postfix's smtp_data_xfer_timeout bounds each write instead)."},
	{name: "remote.min_data_rate", kind: kInt, def: "500", lo: 1, hi: noMax, reload: false, field: func(c *Config) any { return &c.RemoteMinDataRate },
		doc: "The slowest transfer of a message's content accepted, in bytes per second: each message adds its size divided by this to `remote.data_xfer_timeout` and to `remote.session_timeout` (500 is the rate of Postfix's smtpd_min_data_rate)."},
	{name: "remote.data_done_timeout", kind: kSeconds, def: "10m", lo: int64(time.Second), hi: noMax, reload: false, field: func(c *Config) any { return &c.RemoteDataDoneTimeout },
		doc: "How long remote delivery waits for the whole reply after the final dot, each reply with LMTP (Postfix's smtp_data_done_timeout). A timeout here is a deferral marked `Possible duplicate!`."},
	{name: "remote.session_timeout", kind: kSeconds, def: "1h", lo: int64(time.Second), hi: noMax, reload: false, field: func(c *Config) any { return &c.RemoteSessionTimeout },
		doc: "The longest an SMTP connection of remote delivery is used, from its connect, each message's transfer allowance added; a server that answers every step just in time cannot hold a session for longer. Postfix has no such cap."},
	{name: "smtpd.listen", kind: kListeners, def: "127.0.0.1:2525=smtp", reload: false, field: func(c *Config) any { return &c.SMTPDListen },
		doc: "The daemon's SMTP listeners, each an address and a mode: `smtp` (STARTTLS offered when a certificate is present), `submission` (AUTH required before MAIL) or `smtps` (TLS before the greeting). In the environment: `QSEND_SMTPD_LISTEN=\"0.0.0.0:25=smtp,0.0.0.0:587=submission\"`. An empty list opens no listener."},
	{name: "metrics.listen", kind: kAddr, reload: false, field: func(c *Config) any { return &c.MetricsListen },
		doc: "The address of the HTTP server for Prometheus metrics at `/metrics` and the status page at `/`. Empty: no metrics server."},
	// Outbound TLS (package tls/policy; docs/tls.md).
	{name: "tls.policy", kind: kTLSPolicy, reload: true, field: func(c *Config) any { return &c.TLSPolicy },
		doc: "Per-destination outbound TLS, in Postfix's smtp_tls_policy_maps vocabulary; YAML only. Each entry has a `destination` (a recipient domain, `.domain` for its subdomains, or an MX host name), a `level` (`none`, `may`, `encrypt`, `verify`, `secure`, `dane`, `dane-only`, `fingerprint`), and optionally `ca_file`, `min_version`, `ciphers` (OpenSSL syntax), `servername` (SNI), `match` (names the certificate may carry: `hostname`, `nexthop`, `dot-nexthop`, a name or `.domain`) and `fingerprints` (`sha256:` of the certificate or `spki-sha256:` of its public key). An entry for the MX host name wins over one for the recipient domain. `control/tlshosts/<mx>.pem` and `control/notlshosts/<mx>` win over the table."},
	{name: "tls.default_level", kind: kString, def: "may", oneOf: words(tlsLevels), reload: true, field: func(c *Config) any { return &c.TLSDefaultLevel },
		doc: "The TLS level of a destination that neither qmail-tls's files, `tls.policy`, DANE nor MTA-STS decide: `none` never starts TLS; `may` encrypts when STARTTLS is offered and checks nothing; `encrypt` requires TLS; `verify` and `secure` require a verified chain and name; `dane` and `dane-only` use TLSA records; `fingerprint` pins certificates. Under a level that requires TLS, failures defer, never downgrade."},
	{name: "tls.min_version", kind: kString, def: "1.2", oneOf: words(tlsVersions), reload: true, field: func(c *Config) any { return &c.TLSMinVersion },
		doc: "The lowest TLS version, for outbound and inbound TLS: `1.0`, `1.1`, `1.2` or `1.3`. A `tls.policy` entry's `min_version` overrides it for its destination."},
	// hold: a message whose last failure was a TLS policy failure is held
	// at the end of its queue lifetime instead of bounced.
	{name: "tls.on_expiry", kind: kString, def: "hold", oneOf: words(expiryActions), reload: true, field: func(c *Config) any { return &c.TLSOnExpiry },
		doc: "What becomes of a message whose queue lifetime ends while its last failure was a TLS policy failure: `hold` keeps it, held, for an operator to release or bounce; `bounce` bounces it, as qmail-tls does."},
	// Postfix retries opportunistic TLS in plaintext once the message has
	// spent minimal_backoff_time (300 s) in the queue (Postfix HISTORY
	// 20140218, postconf(5)).
	{name: "tls.plaintext_after", kind: kSeconds, def: "5m", lo: 0, hi: noMax, reload: false, field: func(c *Config) any { return &c.TLSPlaintextAfter },
		doc: "The age at which a message to an opportunistic (`may`) destination whose every MX failed the TLS handshake gets one attempt in plaintext, as Postfix's minimal_backoff_time rule; remembered-broken hosts are then used in plaintext straight away."},
	// How long a host whose TLS handshake failed is remembered, so that
	// opportunistic attempts skip TLS there (KumoMTA's remember_broken_tls).
	{name: "tls.remember_broken", kind: kSeconds, def: "1h", lo: 0, hi: noMax, reload: false, field: func(c *Config) any { return &c.TLSRememberBroken },
		doc: "How long a host whose TLS handshake failed is remembered, so that opportunistic attempts to it skip TLS (KumoMTA's remember_broken_tls)."},
	{name: "tls.mta_sts", kind: kOnOff, def: "on", reload: false, field: func(c *Config) any { return &c.TLSMTASTS },
		doc: "MTA-STS (RFC 8461), `on` or `off`: the `_mta-sts` TXT record and the policy fetched over HTTPS (no redirects, 64 KiB at most), kept in the queue file until its max_age and refreshed in the background. Under `enforce` only the policy's MX hosts are used, with a certificate valid for the MX name; under `testing` what would have failed is logged. Routed mail (smtproutes) ignores MTA-STS."},
	{name: "tls.mta_sts_ca", kind: kString, reload: false, field: func(c *Config) any { return &c.TLSMTASTSCA },
		doc: "A file of extra CA certificates, trusted besides the system roots for MTA-STS policy fetches and for the certificates of MX hosts under MTA-STS and under the `verify` and `secure` levels without a `ca_file`. Empty: the system roots only."},
	{name: "tls.dane", kind: kOnOff, def: "on", reload: false, field: func(c *Config) any { return &c.TLSDANE },
		doc: "DANE (RFC 7672), `on` or `off`: TLSA records at `_<port>._tcp.<mx>` are used when the MX answer and the host's addresses are DNSSEC-authenticated; usable DANE-EE(3) and DANE-TA(2) records must match, and a failed TLSA lookup for a secure host defers."},
	// qmail-tls's certificate files; "" means the file in control_dir.
	{name: "tls.client_cert", kind: kString, reload: true, field: func(c *Config) any { return &c.TLSClientCert },
		doc: "The certificate (chain and key in one PEM file) presented when a remote server asks for one. Empty: `clientcert.pem` in `control_dir`, as qmail-tls."},
	{name: "tls.server_cert", kind: kString, reload: true, field: func(c *Config) any { return &c.TLSServerCert },
		doc: "The SMTP server's certificate (chain and key in one PEM file; RSA, ECDSA or Ed25519). It is looked at again at most once a second, so a renewed certificate is used without a restart; without it STARTTLS is not offered. Empty: `servercert.pem` in `control_dir`, as qmail-tls."},
	{name: "tls.client_ca", kind: kString, reload: true, field: func(c *Config) any { return &c.TLSClientCA },
		doc: "The CA certificates that client certificates must chain to for relaying by certificate (qmail-tls's `tlsclients`). Empty: `clientca.pem` in `control_dir`."},
	{name: "tls.client_crl", kind: kString, reload: true, field: func(c *Config) any { return &c.TLSClientCRL },
		doc: "The certificate revocation list checked for client certificates; one that cannot be parsed refuses relaying by certificate. Empty: `clientcrl.pem` in `control_dir`."},
	// SMTP server (package smtpd). Limits follow Postfix's defaults
	// where qmail-smtpd has none (postconf(5)).
	{name: "smtpd.qmailqueue", kind: kString, reload: true, field: func(c *Config) any { return &c.SMTPDQmailQueue },
		doc: "A qmail-queue program (a content filter such as simscan or qmail-scanner) that the listeners' accepted messages go through instead of straight into the queue, as `QMAILQUEUE` for qmail-smtpd. It runs from the directory above `control_dir`. Empty: messages go into the queue directly."},
	{name: "smtpd.tcprules", kind: kString, reload: true, field: func(c *Config) any { return &c.SMTPDTCPRules },
		doc: "A tcprules cdb (`tcprules tcp.smtp.cdb tcp.smtp.tmp < tcp.smtp`) applied to the listeners' connections as tcpserver applies it: a deny closes the connection, an allow sets `RELAYCLIENT`, `DATABYTES`, `TLSCIPHERS` and `NOBADHELO` for the session. Empty: no rules."},
	{name: "smtpd.auth_checkpassword", kind: kList, reload: true, field: func(c *Config) any { return &c.SMTPDAuthCheckpassword },
		doc: "An SMTP AUTH backend: a checkpassword program and its arguments (`[/bin/checkpassword, /bin/true]`), given the login on fd 3; exit 0 accepts, 1 refuses, anything else is a temporary failure. It wins over `smtpd.auth_passwords`. AUTH (PLAIN and LOGIN) is offered only with a backend."},
	{name: "smtpd.auth_passwords", kind: kString, reload: true, field: func(c *Config) any { return &c.SMTPDAuthPasswords },
		doc: "An SMTP AUTH backend: a password file of `user:hash` lines with bcrypt or argon2id hashes, read again when it changes. A successful AUTH allows relaying."},
	{name: "smtpd.auth_without_tls", kind: kString, def: "never", oneOf: words(authWithoutTLS), reload: true, field: func(c *Config) any { return &c.SMTPDAuthWithoutTLS },
		doc: "Which clients are offered SMTP AUTH before STARTTLS: `never` (AUTH only under TLS) or `loopback` (also loopback clients in plaintext)."},
	{name: "smtpd.auth_max_failures", kind: kInt, def: "10", lo: 1, hi: noMax, reload: true, field: func(c *Config) any { return &c.SMTPDAuthMaxFailures },
		doc: "Failed AUTH attempts allowed per client address within 15 minutes; after that AUTH is refused with 421."},
	{name: "smtpd.auth_fail_delay", kind: kSeconds, def: "1s", lo: 0, hi: int64(time.Minute), reload: true, field: func(c *Config) any { return &c.SMTPDAuthFailDelay },
		doc: "The delay before the answer to a first failed AUTH; it grows with further failures. 0 delays nothing; at most 1m."},
	{name: "smtpd.bare_lf", kind: kString, def: "reject", oneOf: words(bareLFs), reload: true, field: func(c *Config) any { return &c.SMTPDBareLF },
		doc: "What a line of DATA that ends in LF without CR (or holds a bare CR) gets: `reject` answers qmail's `451 See http://pobox.com/~djb/docs/smtplf.html.` and closes the connection, so no SMTP smuggling sequence ever ends a message; `normalize` takes a bare LF as a line end."},
	{name: "smtpd.max_line", kind: kInt, def: "4096", lo: 512, hi: 1 << 20, reload: true, field: func(c *Config) any { return &c.SMTPDMaxLine },
		doc: "The longest SMTP command line in bytes, 512 to 1048576."},
	{name: "smtpd.max_rcpts", kind: kInt, def: "1000", lo: 100, hi: noMax, reload: true, field: func(c *Config) any { return &c.SMTPDMaxRcpts },
		doc: "The most recipients of one message (RFC 5321 §4.5.3.1.8 asks for at least 100)."},
	{name: "smtpd.max_header", kind: kInt, def: "102400", lo: 1000, hi: noMax, reload: true, field: func(c *Config) any { return &c.SMTPDMaxHeader },
		doc: "The largest header of a message in bytes."},
	{name: "smtpd.max_errors", kind: kInt, def: "20", lo: 1, hi: noMax, reload: true, field: func(c *Config) any { return &c.SMTPDMaxErrors },
		doc: "Errors allowed in one session before it is closed with 421."},
	{name: "smtpd.max_connections", kind: kInt, def: "10000", lo: 1, hi: noMax, reload: true, field: func(c *Config) any { return &c.SMTPDMaxConnections },
		doc: "SMTP sessions at once over all listeners."},
	{name: "smtpd.max_per_client", kind: kInt, def: "50", lo: 1, hi: noMax, reload: true, field: func(c *Config) any { return &c.SMTPDMaxPerClient },
		doc: "SMTP sessions at once per client address (per /64 for IPv6)."},
	// Attack limits of the SMTP server, after Postfix's: anvil's per-client
	// counts, smtpd_timeout under stress, smtpd_per_request_deadline and
	// smtpd_min_data_rate.
	{name: "smtpd.auth_concurrency", kind: kInt, def: "2", lo: 1, hi: noMax, reload: false, field: func(c *Config) any { return &c.SMTPDAuthConcurrency },
		doc: "SMTP AUTH attempts of one client address (per /64 for IPv6) checked at once; more get `454` and may try again. Every attempt counts towards `smtpd.auth_max_failures` from the moment it is made, so clients that open many sessions at once get no more guesses than one; this bound keeps them from holding many password checks at a time. Two lets a mail program open two submission connections at the same instant."},
	{name: "smtpd.relay_reserve", kind: kFraction, def: "0.1", reload: true, field: func(c *Config) any { return &c.SMTPDRelayReserve },
		doc: "The share of `smtpd.max_connections` kept for clients that may relay when they connect (`RELAYCLIENT` from `smtpd.tcprules`, loopback): other clients are refused, or displace an idle session, once they hold the rest. A client that authenticates moves into this share. 0: none kept."},
	{name: "smtpd.busy_idle_timeout", kind: kSeconds, def: "10s", lo: 0, hi: noMax, reload: true, field: func(c *Config) any { return &c.SMTPDBusyIdleTimeout },
		doc: "Once the connection limit is reached, a new connection displaces the session of a client that may not relay which has waited longest for its client, if that is longer than this; the dropped session gets `421 timeout: idle while the server is full (#4.4.2)`. Slow clients holding connections on purpose go first, not the newcomer; Postfix under stress shortens `smtpd_timeout` to 10 s for the same end. 0: a full server refuses newcomers with `421 too many connections`."},
	{name: "smtpd.session_timeout", kind: kSeconds, def: "1h", lo: 0, hi: noMax, reload: true, field: func(c *Config) any { return &c.SMTPDSessionTimeout },
		doc: "The longest an SMTP session may last, however busy; then it gets `421 timeout: session time limit exceeded (#4.4.2)`. Each command line must also arrive whole within `timeoutsmtpd`, as Postfix's `smtpd_per_request_deadline` makes of `smtpd_timeout`. 0: no limit."},
	{name: "smtpd.min_data_rate", kind: kInt, def: "500", lo: 0, hi: noMax, reload: true, field: func(c *Config) any { return &c.SMTPDMinDataRate },
		doc: "The rate, in bytes per second, that DATA must keep up once `smtpd.data_grace` has passed: by any instant the client must have sent this rate times the time since DATA less the grace, else it gets `421 timeout: data too slow (#4.4.2)`. Postfix's `smtpd_min_data_rate`. 0: no minimum."},
	{name: "smtpd.data_grace", kind: kSeconds, def: "300s", lo: int64(time.Second), hi: noMax, reload: true, field: func(c *Config) any { return &c.SMTPDDataGrace },
		doc: "The time DATA has before `smtpd.min_data_rate` applies; the deadline moves on with the data received. Postfix's `smtpd_timeout` plays this part for its DATA deadline."},
	// Local delivery (package delivery/local): qmail's "./Maildir/" in the
	// user's home by default, as qmail's most common defaultdelivery.
	{name: "local.transport", kind: kString, def: "maildir", oneOf: words(localTransports), reload: true, field: func(c *Config) any { return &c.LocalTransport },
		doc: "How local mail is delivered when no `local.domains` entry names its domain: `maildir` (qmail-local's Maildir algorithm into `local.maildir`), `lmtp` (RFC 2033 to `local.lmtp`, one transaction per message) or `command` (`local.command` run per recipient with qmail-local's environment, exit codes as qmail-lspawn maps them)."},
	{name: "local.maildir", kind: kString, def: "~/Maildir/", reload: true, field: func(c *Config) any { return &c.LocalMaildir },
		doc: "The Maildir template of the `maildir` transport: `~` is the home of `{user}` from the system user database; templates take `{user}` (the local part up to the first `-`), `{ext}`, `{local}`, `{domain}`, `{addr}`, `{home}` and `{sender}`, and directories other than the home are created as needed."},
	{name: "local.lmtp", kind: kString, reload: true, field: func(c *Config) any { return &c.LocalLMTP },
		doc: "The LMTP server of the `lmtp` transport: `unix:/path` (for example `unix:/run/dovecot/lmtp`) or `host:port`."},
	{name: "local.command", kind: kList, reload: true, field: func(c *Config) any { return &c.LocalCommand },
		doc: "The argv of the `command` transport (for example qmail-local with its `.qmail` files), with the templates of `local.maildir`; it is run per recipient with the message on stdin and qmail-local's environment (SENDER, RECIPIENT, USER, HOME, LOCAL, HOST, EXT, ...), never as root."},
	{name: "local.user", kind: kString, reload: true, field: func(c *Config) any { return &c.LocalUser },
		doc: "The system user `command` deliveries run as when the daemon is root. Empty: the recipient's user."},
	{name: "local.domains", kind: kLocalDomains, reload: true, field: func(c *Config) any { return &c.LocalDomains },
		doc: "Per-domain local delivery methods; YAML only. Each entry has a `domain` and a `transport` (`maildir`, `lmtp` or `command`; default `maildir`) with its `maildir` (default `local.maildir`), `lmtp`, `command`, and `user` (default `local.user`)."},
	// DKIM signing (internal/dkim; docs/dkim.md): the keys of
	// control_dir/domainkeys, the qmail-dkim patches' layout, unless this
	// names a domain's keys.
	{name: "dkim.keys", kind: kDKIMKeys, reload: true, field: func(c *Config) any { return &c.DKIMKeys },
		doc: "DKIM private keys kept outside `control_dir/domainkeys/<domain>/<selector>`; YAML only. Each entry has a `domain` (the `d=` of the signatures, the From: domain of the mail signed), a `selector` (the `s=`, published at `<selector>._domainkey.<domain>`) and a `key` (an absolute path to a PEM RSA key of 2048 bits or more, or an Ed25519 key, readable by the daemon's user and not by others). The entries of a domain replace its folder under `domainkeys`; a domain may have one RSA and one Ed25519 key, and mail is then signed with both. A key that does not parse, is too short or is readable by others stops the daemon at start, and a reload keeps the old keys."},
	// Retry schedule: qmail's formula by default (qmail-send.c
	// nextretry()), or exponential back-off (as Postfix qmgr(8); defaults after
	// Postfix's minimal_backoff_time, with a cap of 4 hours).
	{name: "retry.schedule", kind: kString, def: "qmail", oneOf: words(retrySchedules), reload: true, field: func(c *Config) any { return &c.RetrySchedule },
		doc: "When a deferred delivery is tried again: `qmail` is qmail-send's schedule (`birth + (isqrt(age) + 20)²` for remote, `+ 10` for local); `exponential` waits `retry.initial`, doubling up to `retry.max`, spread by `retry.jitter`."},
	{name: "retry.initial", kind: kSeconds, def: "5m", lo: int64(time.Second), hi: noMax, reload: true, field: func(c *Config) any { return &c.RetryInitial },
		doc: "The first wait of the exponential retry schedule."},
	{name: "retry.max", kind: kSeconds, def: "4h", lo: int64(time.Second), hi: noMax, reload: true, field: func(c *Config) any { return &c.RetryMax },
		doc: "The longest wait of the exponential retry schedule."},
	{name: "retry.jitter", kind: kFraction, def: "0.2", reload: true, field: func(c *Config) any { return &c.RetryJitter },
		doc: "The random spread of the exponential schedule's waits, a fraction from 0 to 1."},
	// Bounces: qmail's layout by default (qmail-send.c injectbounce()) or RFC
	// 3464 DSNs; originals over bounce.max_body come back as headers only
	// in DSNs; delay warnings are off by default, as Postfix's
	// delay_warning_time.
	{name: "bounce.format", kind: kString, def: "qmail", oneOf: words(bounceFormats), reload: true, field: func(c *Config) any { return &c.BounceFormat },
		doc: "The layout of bounces: `qmail` is qmail-send's text layout; `dsn` sends RFC 3464 delivery status notifications."},
	{name: "bounce.max_body", kind: kInt, def: "1048576", lo: 0, hi: noMax, reload: true, field: func(c *Config) any { return &c.BounceMaxBody },
		doc: "The largest original message a DSN returns whole, in bytes; larger ones come back as headers only."},
	{name: "bounce.delay_warning", kind: kSeconds, def: "0", lo: 0, hi: noMax, reload: true, field: func(c *Config) any { return &c.DelayWarning },
		doc: "The age after which the sender gets one RFC 3464 \"delayed\" notice for a message still queued, as Postfix's delay_warning_time. 0 sends none."},

	// qmail control files (control.c, qmail-control.5; qmail-send.8).
	{name: "me", kind: kString, control: true, reload: false, field: func(c *Config) any { return &c.Me },
		doc: "This host's name: the default of the other host names, the SMTP greeting and HELO. Without the key and the file, the host name (qmail refuses to start instead). It must not be empty."},
	{name: "defaultdomain", kind: kString, control: true, me: true, reload: true, field: func(c *Config) any { return &c.DefaultDomain },
		doc: "The domain qmail-inject appends to a host name without a dot (`QMAILDEFAULTDOMAIN` overrides it). Default: `me`."},
	{name: "defaulthost", kind: kString, control: true, me: true, reload: true, field: func(c *Config) any { return &c.DefaultHost },
		doc: "The host qmail-inject appends to an address without `@` (`QMAILDEFAULTHOST` overrides it). Default: `me`."},
	{name: "plusdomain", kind: kString, control: true, me: true, reload: true, field: func(c *Config) any { return &c.PlusDomain },
		doc: "The domain qmail-inject puts in place of a trailing `+` of a host name (`QMAILPLUSDOMAIN` overrides it). Default: `me`."},
	{name: "idhost", kind: kString, control: true, me: true, reload: true, field: func(c *Config) any { return &c.IDHost },
		doc: "The host name in the Message-ID lines qmail-inject writes (`QMAILIDHOST` overrides it). Default: `me`."},
	{name: "locals", kind: kList, control: true, me: true, reload: true, field: func(c *Config) any { return &c.Locals },
		doc: "The domains delivered on the local channel (qmail-send's rewrite). Default: `[me]`."},
	{name: "rcpthosts", kind: kList, control: true, reload: true, field: func(c *Config) any { return &c.RcptHosts },
		doc: "The domains the SMTP server accepts mail for from clients that may not relay; a `.domain` entry covers its subdomains. Without it the server accepts only `me` and `locals` (qmail-smtpd accepts everything and is an open relay)."},
	{name: "morercpthosts", kind: kList, control: true, reload: true, field: func(c *Config) any { return &c.MoreRcptHosts },
		doc: "More domains accepted as `rcpthosts`, read only when `rcpthosts` exists. The file is read as text; `morercpthosts.cdb`, when present, is consulted as well, as qmail-smtpd consults it."},
	{name: "virtualdomains", kind: kList, control: true, reload: true, field: func(c *Config) any { return &c.VirtualDomains },
		doc: "qmail-send's virtual domains: `address:prepend`, `domain:prepend` or `.suffix:prepend` lines, tried in that order and then the empty default; a prepend makes the address local as `prepend-user@domain`, an empty prepend keeps it remote."},
	{name: "percenthack", kind: kList, control: true, reload: true, field: func(c *Config) any { return &c.PercentHack },
		doc: "The domains whose addresses have their last `%` turned into `@` (qmail-send's rewrite)."},
	{name: "smtproutes", kind: kList, control: true, reload: false, field: func(c *Config) any { return &c.SMTPRoutes },
		doc: "Static routes for remote delivery: `domain:relay:port` lines, matched on the whole domain, then every `.suffix`, then the empty default; `domain:` means use MX. A line may carry credentials as `domain:relay:port user password`."},
	{name: "helohost", kind: kString, control: true, me: true, reload: false, field: func(c *Config) any { return &c.HeloHost },
		doc: "The name remote delivery says in HELO and EHLO. Default: `me`."},
	{name: "smtpgreeting", kind: kString, control: true, me: true, reload: true, field: func(c *Config) any { return &c.SMTPGreeting },
		doc: "The text after `220 ` in the SMTP server's greeting. Default: `me`."},
	{name: "localiphost", kind: kString, control: true, me: true, reload: true, field: func(c *Config) any { return &c.LocalIPHost },
		doc: "The name the SMTP server takes an address literal of one of its own addresses to mean. Default: `me`."},
	{name: "timeoutconnect", kind: kSeconds, control: true, def: "60", lo: int64(time.Second), hi: noMax, reload: false, field: func(c *Config) any { return &c.TimeoutConnect },
		doc: "How long remote delivery waits for a TCP connection, in seconds or a Go duration."},
	{name: "timeoutremote", kind: kSeconds, control: true, def: "1200", lo: int64(time.Second), hi: noMax, reload: false, field: func(c *Config) any { return &c.TimeoutRemote },
		doc: "How long remote delivery waits for each read and write of an SMTP session."},
	{name: "timeoutsmtpd", kind: kSeconds, control: true, def: "1200", lo: int64(time.Second), hi: noMax, reload: true, field: func(c *Config) any { return &c.TimeoutSMTPD },
		doc: "How long the SMTP server waits for each read and write of a session."},
	{name: "databytes", kind: kInt, control: true, def: "0", lo: 0, hi: noMax, reload: true, field: func(c *Config) any { return &c.DataBytes },
		doc: "The largest message the SMTP server accepts, in bytes; 0 means no limit. `DATABYTES` from tcprules overrides it per client."},
	{name: "queuelifetime", kind: kSeconds, control: true, def: "604800", lo: 0, hi: noMax, reload: true, field: func(c *Config) any { return &c.QueueLifetime },
		doc: "How long a message may stay in the queue: after it, the next temporary failure of a recipient is permanent and bounces (a TLS policy failure follows `tls.on_expiry`). Held messages never expire."},
	// 0 holds the channel as in qmail (qmail-send.8); qmail caps at 255, qsend
	// allows thousands of remote deliveries.
	{name: "concurrencylocal", kind: kInt, control: true, def: "10", lo: 0, hi: 65535, reload: true, field: func(c *Config) any { return &c.ConcurrencyLocal },
		doc: "The most local deliveries at once; 0 holds the local channel, as in qmail."},
	{name: "concurrencyremote", kind: kInt, control: true, def: "20", lo: 0, hi: 65535, reload: false, field: func(c *Config) any { return &c.ConcurrencyRemote },
		doc: "The most SMTP sessions of remote delivery at once (qmail caps it at 255, qsend at 65535); the scheduler keeps four times as many messages in progress. 0 holds the remote channel, as in qmail. A change waits for the next start, as qmail-send reads it only at start (qmail-send.8)."},
	{name: "bouncefrom", kind: kString, control: true, def: "MAILER-DAEMON", reload: true, field: func(c *Config) any { return &c.BounceFrom },
		doc: "The local part of the sender of bounces."},
	{name: "bouncehost", kind: kString, control: true, me: true, reload: true, field: func(c *Config) any { return &c.BounceHost },
		doc: "The domain of the sender of bounces. Default: `me`."},
	{name: "doublebounceto", kind: kString, control: true, def: "postmaster", reload: true, field: func(c *Config) any { return &c.DoubleBounceTo },
		doc: "Where a bounce that cannot be delivered goes: the local part; an empty first line of the file gives an empty local part, as in qmail."},
	{name: "doublebouncehost", kind: kString, control: true, me: true, reload: true, field: func(c *Config) any { return &c.DoubleBounceHost },
		doc: "The domain of `doublebounceto`. Default: `me`."},
	{name: "envnoathost", kind: kString, control: true, me: true, reload: true, field: func(c *Config) any { return &c.EnvNoAtHost },
		doc: "The domain given to an envelope address without `@` (qmail-send's rewrite). Default: `me`."},
	{name: "badmailfrom", kind: kList, control: true, reload: true, field: func(c *Config) any { return &c.BadMailFrom },
		doc: "Envelope senders the SMTP server refuses: qregex patterns (extended regular expressions, case-insensitive, `!` negates); a pattern Go's regexp cannot express is a configuration error naming the file and line."},
	{name: "badrcptto", kind: kList, control: true, reload: true, field: func(c *Config) any { return &c.BadRcptTo },
		doc: "Envelope recipients the SMTP server refuses, as qregex patterns like `badmailfrom`."},
	{name: "badhelo", kind: kList, control: true, reload: true, field: func(c *Config) any { return &c.BadHelo },
		doc: "HELO and EHLO names the SMTP server refuses, as qregex patterns like `badmailfrom`; `NOBADHELO` from tcprules turns the check off per client."},
	// qregex's norelay variants (README.qregex).
	{name: "badmailfromnorelay", kind: kList, control: true, reload: true, field: func(c *Config) any { return &c.BadMailFromNoRelay },
		doc: "Envelope senders refused from clients that may not relay, as qregex patterns like `badmailfrom`."},
	{name: "badrcpttonorelay", kind: kList, control: true, reload: true, field: func(c *Config) any { return &c.BadRcptToNoRelay },
		doc: "Envelope recipients refused from clients that may not relay, as qregex patterns like `badmailfrom`."},
	// qmail-tls's cipher control files (qmail-tls
	// qmail-remote.c and qmail-smtpd.c tls_init()):
	// all lines joined with ":". tlsclients, clientca.pem, clientcrl.pem,
	// servercert.pem and tlshosts/ are read from control_dir by the TLS
	// code itself whenever they change (tls/certrelay, tls/certfile,
	// tls/policy), so they have no keys of their own.
	{name: "tlsclientciphers", kind: kList, control: true, reload: true, field: func(c *Config) any { return &c.TLSClientCiphers },
		doc: "The TLS 1.2 cipher suites of remote delivery, in OpenSSL syntax, the lines joined with `:` as qmail-tls joins them; a string Go cannot honour (one naming only DHE suites, say) is a configuration error. Empty: Go's defaults."},
	{name: "tlsserverciphers", kind: kList, control: true, reload: true, field: func(c *Config) any { return &c.TLSServerCiphers },
		doc: "The TLS 1.2 cipher suites of the SMTP server, in OpenSSL syntax, the lines joined with `:`; `TLSCIPHERS` from tcprules overrides it per client. Empty: ECDHE with AES-GCM or ChaCha20-Poly1305 only (`ECDHE+AESGCM:ECDHE+CHACHA20`, no CBC suites; qmail-tls offers OpenSSL's `DEFAULT`); `DEFAULT` gives Go's defaults, CBC suites included, for old clients."},
}

// keyByName returns the definition of the key name.
func keyByName(name string) (*keyDef, bool) {
	for i := range keys {
		if keys[i].name == name {
			return &keys[i], true
		}
	}
	return nil, false
}

// envName is the environment variable of key name: QSEND_ + the key
// upper-cased with "." as "_" (ARCHITECTURE.md, configuration keys).
func envName(name string) string {
	b := []byte("QSEND_" + name)
	for i, c := range b {
		switch {
		case c == '.':
			b[i] = '_'
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
