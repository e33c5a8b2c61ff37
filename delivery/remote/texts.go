package remote

import (
	"net/netip"
	"strings"

	"github.com/qsend/qsend/delivery/smtpclient"
)

// The texts below are qmail-remote's reports (qmail-remote.8, qmail-remote.c), so
// that `queue show`, the logs and bounces read as administrators know them.
// IP is the peer's address.

// remoteSaid is qmail-remote's "Remote host said: " line with the whole
// reply (all lines, CR removed, NUL as '?', at most 5000 bytes).
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

// stageText is qmail-remote's sentence for a failure at a stage.
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

// resultText is the report for one recipient's result from a server.
func resultText(r smtpclient.RcptResult, ip string) string {
	if r.State == smtpclient.Delivered {
		return ip + " accepted message.\n" + remoteSaid(&r.Reply)
	}
	text := stageText(r.Stage, ip) + remoteSaid(&r.Reply)
	if r.State == smtpclient.Failed && r.Stage == smtpclient.StageRcpt {
		text += "Giving up on " + ip + ".\n"
	}
	return text
}

// diedText is qmail-remote's report of a connection lost mid-session.
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

// Fixed texts of qmail-remote.
const (
	noConnection = "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"
)

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
