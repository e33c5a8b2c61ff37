package remote

import (
	"strings"

	"github.com/qsend/qsend/delivery/smtpclient"
)

// logAttempt writes one line per SMTP transaction: the message, its
// recipients, the server's name and address, TLS or plain, the decisive
// reply, and how long the message has waited since it arrived.
func (t *Transport) logAttempt(g *group, env envelope, host, ip string, c *smtpclient.Conn, res []smtpclient.RcptResult, err error) {
	var delivered, deferred, failed int
	reply := ""
	for _, r := range res {
		switch r.State {
		case smtpclient.Delivered:
			delivered++
		case smtpclient.Failed:
			failed++
		default:
			deferred++
		}
		if r.Reply.Code != 0 {
			reply = firstLine(r.Reply.Text())
		}
	}
	attrs := []any{
		"id", g.job.Msg.ID,
		"rcpts", strings.Join(env.rcpts, ","),
		"mx", host,
		"ip", ip,
		"tls", tlsText(c),
		"reply", reply,
		"delivered", delivered, "deferred", deferred, "failed", failed,
		"delay", g.now.Sub(g.job.Msg.Born).Round(1e6).String(),
	}
	if err != nil {
		attrs = append(attrs, "err", err.Error())
	}
	t.o.Logger.Info("smtp attempt", attrs...)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
