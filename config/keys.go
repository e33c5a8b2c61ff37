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
)

// keyDef describes one configuration key. Adding a qmail control file is
// one line here plus the Config field it fills.
type keyDef struct {
	name    string // YAML key, dotted for nested ones ("log.format")
	kind    kind
	control bool     // also read from the control file of the same name
	def     string   // default in environment syntax; "" and nil lists are empty
	me      bool     // the default is the effective me ([me] for lists)
	oneOf   []string // allowed values of a kString
	lo, hi  int64    // range of a kInt, or of a kSeconds in nanoseconds
	field   func(c *Config) any
}

// noMax is the upper bound of a range without one.
const noMax = math.MaxInt64

// keys is every configuration key. The defaults of the control keys are
// qmail's (qmail-control.5 table, qmail-send.8).
var keys = []keyDef{
	{name: "state_dir", kind: kPath, field: func(c *Config) any { return &c.StateDir }},
	{name: "control_dir", kind: kPath, def: "/var/qmail/control", field: func(c *Config) any { return &c.ControlDir }},
	{name: "admin_group", kind: kString, field: func(c *Config) any { return &c.AdminGroup }},
	{name: "log.format", kind: kString, def: "text", oneOf: []string{"text", "json", "qmail"}, field: func(c *Config) any { return &c.LogFormat }},
	{name: "log.level", kind: kLevel, def: "info", field: func(c *Config) any { return &c.LogLevel }},
	{name: "store.batch_delay", kind: kSeconds, def: "1ms", lo: 0, hi: int64(time.Second), field: func(c *Config) any { return &c.StoreBatchDelay }},
	{name: "dns.resolvers", kind: kAddrList, field: func(c *Config) any { return &c.DNSResolvers }},
	// Resolvers whose AD bit is believed besides loopback ones (RFC 6698
	// §A.3.3, RFC 7672 §2: DNSSEC status is only as good as the path to
	// the validating resolver).
	{name: "dns.trusted_resolvers", kind: kAddrList, field: func(c *Config) any { return &c.DNSTrustedResolvers }},
	{name: "remote.port", kind: kInt, def: "25", lo: 1, hi: 65535, field: func(c *Config) any { return &c.RemotePort }},
	// Sessions to one recipient domain or route at once; Postfix's
	// default_destination_concurrency_limit is 20 (postconf(5)).
	{name: "remote.destination_concurrency", kind: kInt, def: "20", lo: 1, hi: 65535, field: func(c *Config) any { return &c.RemoteDestinationConcurrency }},
	{name: "smtpd.listen", kind: kListeners, def: "127.0.0.1:2525=smtp", field: func(c *Config) any { return &c.SMTPDListen }},
	{name: "metrics.listen", kind: kAddr, field: func(c *Config) any { return &c.MetricsListen }},
	// Outbound TLS (package tls/policy; docs/tls.md).
	{name: "tls.policy", kind: kTLSPolicy, field: func(c *Config) any { return &c.TLSPolicy }},
	{name: "tls.default_level", kind: kString, def: "may", oneOf: TLSLevels, field: func(c *Config) any { return &c.TLSDefaultLevel }},
	{name: "tls.min_version", kind: kString, def: "1.2", oneOf: tlsVersions, field: func(c *Config) any { return &c.TLSMinVersion }},
	// hold: a message whose last failure was a TLS policy failure is held
	// at the end of its queue lifetime instead of bounced.
	{name: "tls.on_expiry", kind: kString, def: "hold", oneOf: []string{"hold", "bounce"}, field: func(c *Config) any { return &c.TLSOnExpiry }},
	// Postfix retries opportunistic TLS in plaintext once the message has
	// spent minimal_backoff_time (300 s) in the queue (Postfix HISTORY
	// 20140218, postconf(5)).
	{name: "tls.plaintext_after", kind: kSeconds, def: "5m", lo: 0, hi: noMax, field: func(c *Config) any { return &c.TLSPlaintextAfter }},
	// How long a host whose TLS handshake failed is remembered, so that
	// opportunistic attempts skip TLS there (KumoMTA's remember_broken_tls).
	{name: "tls.remember_broken", kind: kSeconds, def: "1h", lo: 0, hi: noMax, field: func(c *Config) any { return &c.TLSRememberBroken }},
	{name: "tls.mta_sts", kind: kString, def: "on", oneOf: []string{"on", "off"}, field: func(c *Config) any { return &c.TLSMTASTS }},
	{name: "tls.mta_sts_ca", kind: kString, field: func(c *Config) any { return &c.TLSMTASTSCA }},
	{name: "tls.dane", kind: kString, def: "on", oneOf: []string{"on", "off"}, field: func(c *Config) any { return &c.TLSDANE }},
	// qmail-tls's certificate files; "" means the file in control_dir.
	{name: "tls.client_cert", kind: kString, field: func(c *Config) any { return &c.TLSClientCert }},
	{name: "tls.server_cert", kind: kString, field: func(c *Config) any { return &c.TLSServerCert }},
	{name: "tls.client_ca", kind: kString, field: func(c *Config) any { return &c.TLSClientCA }},
	{name: "tls.client_crl", kind: kString, field: func(c *Config) any { return &c.TLSClientCRL }},
	// SMTP server (package smtpd). Limits follow Postfix's defaults
	// where qmail-smtpd has none (postconf(5)).
	{name: "smtpd.qmailqueue", kind: kString, field: func(c *Config) any { return &c.SMTPDQmailQueue }},
	{name: "smtpd.tcprules", kind: kString, field: func(c *Config) any { return &c.SMTPDTCPRules }},
	{name: "smtpd.auth_checkpassword", kind: kList, field: func(c *Config) any { return &c.SMTPDAuthCheckpassword }},
	{name: "smtpd.auth_passwords", kind: kString, field: func(c *Config) any { return &c.SMTPDAuthPasswords }},
	{name: "smtpd.auth_without_tls", kind: kString, def: "never", oneOf: []string{"never", "loopback"}, field: func(c *Config) any { return &c.SMTPDAuthWithoutTLS }},
	{name: "smtpd.auth_max_failures", kind: kInt, def: "10", lo: 1, hi: noMax, field: func(c *Config) any { return &c.SMTPDAuthMaxFailures }},
	{name: "smtpd.auth_fail_delay", kind: kSeconds, def: "1s", lo: 0, hi: int64(time.Minute), field: func(c *Config) any { return &c.SMTPDAuthFailDelay }},
	{name: "smtpd.bare_lf", kind: kString, def: "reject", oneOf: []string{"reject", "normalize"}, field: func(c *Config) any { return &c.SMTPDBareLF }},
	{name: "smtpd.max_line", kind: kInt, def: "4096", lo: 512, hi: 1 << 20, field: func(c *Config) any { return &c.SMTPDMaxLine }},
	{name: "smtpd.max_rcpts", kind: kInt, def: "1000", lo: 100, hi: noMax, field: func(c *Config) any { return &c.SMTPDMaxRcpts }},
	{name: "smtpd.max_header", kind: kInt, def: "102400", lo: 1000, hi: noMax, field: func(c *Config) any { return &c.SMTPDMaxHeader }},
	{name: "smtpd.max_errors", kind: kInt, def: "20", lo: 1, hi: noMax, field: func(c *Config) any { return &c.SMTPDMaxErrors }},
	{name: "smtpd.max_connections", kind: kInt, def: "10000", lo: 1, hi: noMax, field: func(c *Config) any { return &c.SMTPDMaxConnections }},
	{name: "smtpd.max_per_client", kind: kInt, def: "50", lo: 1, hi: noMax, field: func(c *Config) any { return &c.SMTPDMaxPerClient }},
	// Local delivery (package delivery/local): qmail's "./Maildir/" in the
	// user's home by default, as qmail's most common defaultdelivery.
	{name: "local.transport", kind: kString, def: "maildir", oneOf: localTransports, field: func(c *Config) any { return &c.LocalTransport }},
	{name: "local.maildir", kind: kString, def: "~/Maildir/", field: func(c *Config) any { return &c.LocalMaildir }},
	{name: "local.lmtp", kind: kString, field: func(c *Config) any { return &c.LocalLMTP }},
	{name: "local.command", kind: kList, field: func(c *Config) any { return &c.LocalCommand }},
	{name: "local.user", kind: kString, field: func(c *Config) any { return &c.LocalUser }},
	{name: "local.domains", kind: kLocalDomains, field: func(c *Config) any { return &c.LocalDomains }},
	// Retry schedule: qmail's formula by default (qmail-send.c
	// nextretry()), or exponential back-off (as Postfix qmgr(8); defaults after
	// Postfix's minimal_backoff_time, with a cap of 4 hours).
	{name: "retry.schedule", kind: kString, def: "qmail", oneOf: []string{"qmail", "exponential"}, field: func(c *Config) any { return &c.RetrySchedule }},
	{name: "retry.initial", kind: kSeconds, def: "5m", lo: int64(time.Second), hi: noMax, field: func(c *Config) any { return &c.RetryInitial }},
	{name: "retry.max", kind: kSeconds, def: "4h", lo: int64(time.Second), hi: noMax, field: func(c *Config) any { return &c.RetryMax }},
	{name: "retry.jitter", kind: kFraction, def: "0.2", field: func(c *Config) any { return &c.RetryJitter }},
	// Bounces: qmail's layout by default (qmail-send.c injectbounce()) or RFC
	// 3464 DSNs; originals over bounce.max_body come back as headers only
	// in DSNs; delay warnings are off by default, as Postfix's
	// delay_warning_time.
	{name: "bounce.format", kind: kString, def: "qmail", oneOf: []string{"qmail", "dsn"}, field: func(c *Config) any { return &c.BounceFormat }},
	{name: "bounce.max_body", kind: kInt, def: "1048576", lo: 0, hi: noMax, field: func(c *Config) any { return &c.BounceMaxBody }},
	{name: "bounce.delay_warning", kind: kSeconds, def: "0", lo: 0, hi: noMax, field: func(c *Config) any { return &c.DelayWarning }},

	// qmail control files (control.c, qmail-control.5; qmail-send.8).
	{name: "me", kind: kString, control: true, field: func(c *Config) any { return &c.Me }},
	{name: "defaultdomain", kind: kString, control: true, me: true, field: func(c *Config) any { return &c.DefaultDomain }},
	{name: "defaulthost", kind: kString, control: true, me: true, field: func(c *Config) any { return &c.DefaultHost }},
	{name: "plusdomain", kind: kString, control: true, me: true, field: func(c *Config) any { return &c.PlusDomain }},
	{name: "idhost", kind: kString, control: true, me: true, field: func(c *Config) any { return &c.IDHost }},
	{name: "locals", kind: kList, control: true, me: true, field: func(c *Config) any { return &c.Locals }},
	{name: "rcpthosts", kind: kList, control: true, field: func(c *Config) any { return &c.RcptHosts }},
	{name: "morercpthosts", kind: kList, control: true, field: func(c *Config) any { return &c.MoreRcptHosts }},
	{name: "virtualdomains", kind: kList, control: true, field: func(c *Config) any { return &c.VirtualDomains }},
	{name: "percenthack", kind: kList, control: true, field: func(c *Config) any { return &c.PercentHack }},
	{name: "smtproutes", kind: kList, control: true, field: func(c *Config) any { return &c.SMTPRoutes }},
	{name: "helohost", kind: kString, control: true, me: true, field: func(c *Config) any { return &c.HeloHost }},
	{name: "smtpgreeting", kind: kString, control: true, me: true, field: func(c *Config) any { return &c.SMTPGreeting }},
	{name: "localiphost", kind: kString, control: true, me: true, field: func(c *Config) any { return &c.LocalIPHost }},
	{name: "timeoutconnect", kind: kSeconds, control: true, def: "60", lo: int64(time.Second), hi: noMax, field: func(c *Config) any { return &c.TimeoutConnect }},
	{name: "timeoutremote", kind: kSeconds, control: true, def: "1200", lo: int64(time.Second), hi: noMax, field: func(c *Config) any { return &c.TimeoutRemote }},
	{name: "timeoutsmtpd", kind: kSeconds, control: true, def: "1200", lo: int64(time.Second), hi: noMax, field: func(c *Config) any { return &c.TimeoutSMTPD }},
	{name: "databytes", kind: kInt, control: true, def: "0", lo: 0, hi: noMax, field: func(c *Config) any { return &c.DataBytes }},
	{name: "queuelifetime", kind: kSeconds, control: true, def: "604800", lo: 0, hi: noMax, field: func(c *Config) any { return &c.QueueLifetime }},
	// 0 holds the channel as in qmail (qmail-send.8); qmail caps at 255, qsend
	// allows thousands of remote deliveries.
	{name: "concurrencylocal", kind: kInt, control: true, def: "10", lo: 0, hi: 65535, field: func(c *Config) any { return &c.ConcurrencyLocal }},
	{name: "concurrencyremote", kind: kInt, control: true, def: "20", lo: 0, hi: 65535, field: func(c *Config) any { return &c.ConcurrencyRemote }},
	{name: "bouncefrom", kind: kString, control: true, def: "MAILER-DAEMON", field: func(c *Config) any { return &c.BounceFrom }},
	{name: "bouncehost", kind: kString, control: true, me: true, field: func(c *Config) any { return &c.BounceHost }},
	{name: "doublebounceto", kind: kString, control: true, def: "postmaster", field: func(c *Config) any { return &c.DoubleBounceTo }},
	{name: "doublebouncehost", kind: kString, control: true, me: true, field: func(c *Config) any { return &c.DoubleBounceHost }},
	{name: "envnoathost", kind: kString, control: true, me: true, field: func(c *Config) any { return &c.EnvNoAtHost }},
	{name: "badmailfrom", kind: kList, control: true, field: func(c *Config) any { return &c.BadMailFrom }},
	{name: "badrcptto", kind: kList, control: true, field: func(c *Config) any { return &c.BadRcptTo }},
	{name: "badhelo", kind: kList, control: true, field: func(c *Config) any { return &c.BadHelo }},
	// qregex's norelay variants (README.qregex).
	{name: "badmailfromnorelay", kind: kList, control: true, field: func(c *Config) any { return &c.BadMailFromNoRelay }},
	{name: "badrcpttonorelay", kind: kList, control: true, field: func(c *Config) any { return &c.BadRcptToNoRelay }},
	// qmail-tls's cipher control files (qmail-tls
	// qmail-remote.c and qmail-smtpd.c tls_init()):
	// all lines joined with ":". tlsclients, clientca.pem, clientcrl.pem,
	// servercert.pem and tlshosts/ are read from control_dir by the TLS
	// code itself whenever they change (tls/certrelay, tls/certfile,
	// tls/policy), so they have no keys of their own.
	{name: "tlsclientciphers", kind: kList, control: true, field: func(c *Config) any { return &c.TLSClientCiphers }},
	{name: "tlsserverciphers", kind: kList, control: true, field: func(c *Config) any { return &c.TLSServerCiphers }},
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
