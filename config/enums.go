package config

// The keys that take one of a few words are decoded into these types when
// the configuration loads, so code that uses a Config compares constants,
// never texts. Each type's underlying string is the word written in the
// file, the environment and `qsend config`.

// LogFormat is log.format: how the daemon writes its log.
type LogFormat string

// The log formats.
const (
	LogText  LogFormat = "text"  // log/slog's text handler
	LogJSON  LogFormat = "json"  // log/slog's JSON handler
	LogQmail LogFormat = "qmail" // qmail-send's log lines (qmail-send.c)
)

var logFormats = []LogFormat{LogText, LogJSON, LogQmail}

// RetrySchedule is retry.schedule: when a deferred delivery is tried again.
type RetrySchedule string

// The retry schedules.
const (
	RetryQmail       RetrySchedule = "qmail"       // qmail-send.c nextretry()
	RetryExponential RetrySchedule = "exponential" // retry.initial doubling up to retry.max
)

var retrySchedules = []RetrySchedule{RetryQmail, RetryExponential}

// BounceFormat is bounce.format: the layout of failure notices.
type BounceFormat string

// The bounce formats.
const (
	BounceQmail BounceFormat = "qmail" // qmail-send.c injectbounce()
	BounceDSN   BounceFormat = "dsn"   // RFC 3464 delivery status notifications
)

var bounceFormats = []BounceFormat{BounceQmail, BounceDSN}

// LocalTransport is local.transport, and the transport of a local.domains
// entry: how the local channel delivers (package delivery/local).
type LocalTransport string

// The local transports.
const (
	TransportMaildir LocalTransport = "maildir" // qmail-local's Maildir delivery
	TransportLMTP    LocalTransport = "lmtp"    // RFC 2033
	TransportCommand LocalTransport = "command" // a program per recipient, as qmail-local's |command
)

var localTransports = []LocalTransport{TransportMaildir, TransportLMTP, TransportCommand}

// TLSLevel is tls.default_level, and the level of a tls.policy entry:
// Postfix's smtp_tls_security_level vocabulary (postconf(5)).
type TLSLevel string

// The TLS levels, weakest first.
const (
	TLSLevelNone        TLSLevel = "none"
	TLSLevelMay         TLSLevel = "may"
	TLSLevelEncrypt     TLSLevel = "encrypt"
	TLSLevelVerify      TLSLevel = "verify"
	TLSLevelSecure      TLSLevel = "secure"
	TLSLevelDANE        TLSLevel = "dane"
	TLSLevelDANEOnly    TLSLevel = "dane-only"
	TLSLevelFingerprint TLSLevel = "fingerprint"
)

// tlsLevels are the policy levels, weakest first.
var tlsLevels = []TLSLevel{TLSLevelNone, TLSLevelMay, TLSLevelEncrypt, TLSLevelVerify,
	TLSLevelSecure, TLSLevelDANE, TLSLevelDANEOnly, TLSLevelFingerprint}

// TLSVersion is tls.min_version, and the min_version of a tls.policy
// entry: the lowest TLS protocol version accepted.
type TLSVersion string

// The TLS versions.
const (
	TLS10 TLSVersion = "1.0"
	TLS11 TLSVersion = "1.1"
	TLS12 TLSVersion = "1.2"
	TLS13 TLSVersion = "1.3"
)

var tlsVersions = []TLSVersion{TLS10, TLS11, TLS12, TLS13}

// ExpiryAction is tls.on_expiry: what becomes of a message whose queue
// lifetime ends while its last failure was a TLS policy failure.
type ExpiryAction string

// The expiry actions.
const (
	ExpiryHold   ExpiryAction = "hold"   // kept, held, for an operator to decide
	ExpiryBounce ExpiryAction = "bounce" // bounced, as qmail bounces every expired message
)

var expiryActions = []ExpiryAction{ExpiryHold, ExpiryBounce}

// AuthWithoutTLS is smtpd.auth_without_tls: which clients are offered SMTP
// AUTH before STARTTLS.
type AuthWithoutTLS string

// The AUTH-without-TLS choices.
const (
	AuthNever    AuthWithoutTLS = "never"    // AUTH only under TLS (RFC 4954 §4)
	AuthLoopback AuthWithoutTLS = "loopback" // also to loopback clients in clear
)

var authWithoutTLS = []AuthWithoutTLS{AuthNever, AuthLoopback}

// BareLF is smtpd.bare_lf: what the SMTP server does with a line of DATA
// that ends in LF without CR.
type BareLF string

// The bare-LF choices.
const (
	BareLFReject    BareLF = "reject"    // qmail-smtpd.c blast(): 451 and close
	BareLFNormalize BareLF = "normalize" // taken as a line end
)

var bareLFs = []BareLF{BareLFReject, BareLFNormalize}

// ListenerMode is the mode of an smtpd.listen entry.
type ListenerMode string

// The listener modes.
const (
	ModeSMTP       ListenerMode = "smtp"       // RFC 5321, STARTTLS offered when a certificate is present
	ModeSubmission ListenerMode = "submission" // RFC 6409: AUTH before MAIL
	ModeSMTPS      ListenerMode = "smtps"      // RFC 8314: TLS before the greeting
)

var listenerModes = []ListenerMode{ModeSMTP, ModeSubmission, ModeSMTPS}

// words are the texts of an enumeration's values, for keyDef.oneOf and
// error messages.
func words[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// onOff writes a boolean key as the word the file uses.
func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
