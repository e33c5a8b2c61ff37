package setup

import (
	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/smtpd"
)

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
