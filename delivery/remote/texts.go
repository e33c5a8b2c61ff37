package remote

import (
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/delivery/smtpclient"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/tls/policy"
)

// Every text the remote transport puts into a recipient's last result.
// Most are qmail-remote's reports byte for byte (qmail-remote.c, and for
// TLS the qmail-tls patch's qmail-remote.c tls_init()), without the
// report's leading status letter, so that `queue show`, the logs and
// bounces read as administrators know them. IP is the peer's address. The
// plan failures' texts are package mx's, the TLS policy's package policy's.

// remoteSaid is qmail-remote's "Remote host said: " line with the whole
// reply (all lines, CR removed, NUL as '?', at most 5000 bytes), as
// qmail-remote.c outsmtptext() writes it.
func remoteSaid(r *smtpclient.Reply) string {
	if r == nil {
		return ""
	}
	t := strings.ReplaceAll(r.Text(), "\r", "")
	t = strings.ReplaceAll(t, "\x00", "?")
	if len(t) > 5000 {
		t = t[:5000]
	}
	return "Remote host said: " + t + "\n"
}

func ipText(a netip.AddrPort) string { return a.Addr().String() }

// stageText is qmail-remote's sentence for a failure at a stage
// (qmail-remote.c smtp(), and tls_init() for STARTTLS). The last one is
// qsend's own, for a stage qmail-remote has no sentence for.
func stageText(stage smtpclient.Stage, ip string) string {
	switch stage {
	case smtpclient.StageGreeting:
		return "Connected to " + ip + " but greeting failed.\n"
	case smtpclient.StageHelo:
		return "Connected to " + ip + " but my name was rejected.\n"
	case smtpclient.StageStartTLS:
		return "TLS connect failed; connected to " + ip + ".\n"
	case smtpclient.StageMail:
		return "Connected to " + ip + " but sender was rejected.\n"
	case smtpclient.StageRcpt:
		return ip + " does not like recipient.\n"
	case smtpclient.StageData:
		return ip + " failed on DATA command.\n"
	case smtpclient.StageBody:
		return ip + " failed after I sent the message.\n"
	}
	return "Connected to " + ip + " but the session failed.\n"
}

// resultText is the report for one recipient's result from the server
// host at ip (qmail-remote.c smtp(): "accepted message.", and "Giving up
// on IP." after a permanent refusal of a recipient).
func resultText(r smtpclient.RcptResult, host, ip string) string {
	if r.NoSMTPUTF8 {
		return noSMTPUTF8Text(host, ip)
	}
	if r.State == smtpclient.Delivered {
		return ip + " accepted message.\n" + remoteSaid(&r.Reply)
	}
	text := stageText(r.Stage, ip) + remoteSaid(&r.Reply)
	if r.State == smtpclient.Failed && r.Stage == smtpclient.StageRcpt {
		text += "Giving up on " + ip + ".\n"
	}
	return text
}

// noSMTPUTF8Text is the failure of a message that needs SMTPUTF8 at a
// server that does not offer it, decided before MAIL (RFC 6531 §3.2):
// Postfix's text (smtp_proto.c), as qmail-remote has none, with RFC 6531
// §3.2's 5.6.7 in qmail's form.
func noSMTPUTF8Text(host, ip string) string {
	return "SMTPUTF8 is required, but was not offered by host " + host + "[" + ip + "] (#5.6.7)\n"
}

// diedText is qmail-remote's report of a connection lost mid-session
// (qmail-remote.c dropped(); "Possible duplicate! " once the final dot was
// sent, and the TLS error text as the qmail-tls patch adds it).
func diedText(ip string, afterDot bool, err error) string {
	dup := ""
	if afterDot {
		dup = "Possible duplicate! "
	}
	cause := ""
	if err != nil {
		cause = err.Error() + " "
	}
	return "Connected to " + ip + " but connection died. " + dup + cause + "(#4.4.2)\n"
}

// timeoutText is the report of a step of the session that ran out of its
// deadline (smtpclient.Phases): qsend's own, worded as diedText, since
// qmail-remote has only its per-read timeout and reports it as a
// connection that died (qmail-remote.c dropped()). afterDot adds
// "Possible duplicate! " once the final dot was sent.
func timeoutText(ip string, afterDot bool, te *smtpclient.TimeoutError) string {
	dup := ""
	if afterDot {
		dup = " Possible duplicate!"
	}
	return "Connected to " + ip + " but " + te.Error() + "; giving up on the connection." + dup + " (#4.4.2)\n"
}

// timeoutOf returns the *smtpclient.TimeoutError that err carries, or nil.
func timeoutOf(err error) *smtpclient.TimeoutError {
	var te *smtpclient.TimeoutError
	if errors.As(err, &te) {
		return te
	}
	return nil
}

const (
	// noConnection is qmail-remote.c temp_noconn().
	noConnection = "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"
	// interruptedText is the deferral of a delivery stopped by shutdown.
	interruptedText = delivery.TextInterrupted + "\n"
	// tlsConnectFailed starts the report of a failed TLS handshake
	// (qmail-remote.c tls_init(), qmail-tls patch).
	tlsConnectFailed = "TLS connect failed: "
	// textUnknownTLSError stands for a handshake failure without an error.
	textUnknownTLSError = "unknown error"
)

// backoffText is the wait of a destination that failed to connect
// recently: qsend's own (qmail-send.c's tcpto only skips hosts), with
// #4.4.1 as in qmail-remote.c temp_noconn().
func backoffText(domain string) string {
	return "Sorry, " + domain + " could not be reached recently; waiting before the next try. (#4.4.1)\n"
}

// connectingText ends a TLS policy text before the handshake with the
// peer's address, as qmail-remote.c tls_init() (qmail-tls patch) does.
func connectingText(text, ip string) string { return text + "; connecting to " + ip + ".\n" }

// connectedText ends a TLS text after the handshake with the peer's
// address, as qmail-remote.c tls_init() (qmail-tls patch) does.
func connectedText(text, ip string) string { return text + "; connected to " + ip + ".\n" }

// smtpsNoTLSText is an SMTPS route (port 465, which needs TLS) to a host
// whose TLS control/file turns off; qsend's own, worded as
// connectingText's texts.
func smtpsNoTLSText(host, file, ip string) string {
	return connectingText("TLS is turned off for "+host+" by control/"+file+", but port 465 (SMTPS) needs TLS", ip)
}

// codedText is a lookup failure's text with its enhanced status code in
// the form qmail's texts end in, e.g. "(#4.1.2)" in qmail-remote.c temp_dns().
func codedText(me *mx.Error) string { return me.Text + " (#" + me.Enhanced + ")" }

// policyText is the deferral text of a TLS policy failure before
// connecting: the policy's text (package policy) ending in a full stop.
func policyText(err error) string {
	text := err.Error()
	var f *policy.Failure
	if errors.As(err, &f) {
		text = f.Text
	}
	if !strings.HasSuffix(text, ".") {
		text += "."
	}
	return text + "\n"
}

// stageReason names a stage for the counters.
func stageReason(s smtpclient.Stage) string {
	switch s {
	case smtpclient.StageConnect:
		return "connect"
	case smtpclient.StageGreeting:
		return "greeting"
	case smtpclient.StageHelo:
		return "helo"
	case smtpclient.StageStartTLS:
		return "starttls"
	case smtpclient.StageMail:
		return "mail"
	case smtpclient.StageRcpt:
		return "rcpt"
	case smtpclient.StageData:
		return "data"
	case smtpclient.StageBody:
		return "body"
	}
	return "smtp"
}

// What MTA-STS's testing mode would have deferred for: delivery goes on
// and reports it (RFC 8461 §5), as the message of a log line with the
// reason, and as a note of the probe report.
const (
	stsWouldDefer      = "MTA-STS testing: the policy would have deferred"
	stsWouldDeferNoTLS = stsWouldDefer + ": no TLS"
)

// The notes of the probe report (`qsend tls-probe`), which says what
// delivery would do; qsend's own. They are not stored, so Texts leaves
// them out.
const (
	noteNoCheckPolicy = " (the policy failed before connecting)" // after VerdictNoCheck
	noteDefersFirst   = "delivery defers before connecting; the connection was made for this report only"
	noteBroken        = "remembered as failing the TLS handshake: a message that has waited tls.plaintext_after goes here in plaintext"
)

// noteMayNext is the note on a handshake failure under may: the plaintext
// fallback after tls.plaintext_after (Postfix's rule, as deliverDomain
// applies it).
func noteMayNext(after time.Duration) string {
	return "may: the next MX is tried; when every MX fails the TLS handshake, a message that has waited " +
		after.String() + " (tls.plaintext_after) gets one plaintext attempt"
}

// starttlsText is the line a deferral after a TLS session ends with: the
// session's TLS as qmail-tls's DEBUG build adds it to qmail-remote's report
// (qmail-remote.c quit(): "STARTTLS proto=...; cipher=...; subject=...;
// issuer=...;"), followed by how the server was verified.
func starttlsText(proto, cipher, subject, issuer string, v policy.Verification) string {
	return "STARTTLS proto=" + proto + "; cipher=" + cipher + "; subject=" + subject + "; issuer=" + issuer +
		"; " + v.String() + ";\n"
}

// Texts returns every text of this package in a fixed order, rendered for
// the peer 192.0.2.1, the host mx.example.net and the domain example.net,
// for a golden list of what qsend can store. The texts it shares are
// listed by their homes: mx.TextSoftDNS, delivery.TextInterrupted and the
// TLS policy's texts.
func Texts() []string {
	const ip, host = "192.0.2.1", "mx.example.net"
	ok := smtpclient.Reply{Code: 250, Lines: []string{"2.0.0 Ok: queued as 4Bc1"}}
	refused := smtpclient.Reply{Code: 550, Lines: []string{"5.1.1 <joe@example.net>: Recipient address rejected", "User unknown"}}
	out := []string{remoteSaid(&ok)}
	for s := smtpclient.StageConnect; s <= smtpclient.StageBody; s++ {
		out = append(out, stageText(s, ip))
	}
	tlsFailure := &policy.Failure{Text: "TLS unable to verify server " + host + ": certificate has expired"}
	out = append(out,
		resultText(smtpclient.RcptResult{Reply: ok, Stage: smtpclient.StageBody, State: smtpclient.Delivered}, host, ip),
		resultText(smtpclient.RcptResult{Reply: refused, Stage: smtpclient.StageRcpt, State: smtpclient.Failed}, host, ip),
		noSMTPUTF8Text(host, ip),
		diedText(ip, false, nil),
		diedText(ip, true, errors.New("read tcp 192.0.2.2:40000->192.0.2.1:25: read: connection reset by peer")),
		timeoutText(ip, false, &smtpclient.TimeoutError{Phase: smtpclient.StageGreeting.String(), Limit: smtpclient.DefaultHeloTimeout}),
		timeoutText(ip, true, &smtpclient.TimeoutError{Phase: smtpclient.StageBody.String(), Limit: smtpclient.DefaultDataDoneTimeout}),
		timeoutText(ip, false, &smtpclient.TimeoutError{Phase: "session", Limit: smtpclient.DefaultSessionTimeout}),
		noConnection,
		backoffText("example.net"),
		connectingText(policy.Decision{Source: "default", Rule: policy.Rule{Level: policy.Encrypt}}.NoTLSText(), ip),
		connectedText(tlsFailure.Text, ip),
		connectedText(tlsConnectFailed+"handshake failure", ip),
		connectedText(tlsConnectFailed+textUnknownTLSError, ip),
		smtpsNoTLSText(host, "notlshosts/"+host, ip),
		policyText(tlsFailure),
		starttlsText("TLSv1.3", "TLS_AES_128_GCM_SHA256", "/CN="+host, "/O=Example/CN=Example CA",
			policy.Verification{Level: policy.Dane, Source: "dane", Class: policy.Verified, DANE: "3 1 1"}),
	)
	return out
}
