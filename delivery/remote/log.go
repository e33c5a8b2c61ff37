package remote

import (
	"crypto/x509/pkix"
	"fmt"
	"strings"

	"github.com/qsend/qsend/delivery/smtpclient"
	"github.com/qsend/qsend/tls/ciphers"
	"github.com/qsend/qsend/tls/policy"
)

// logAttempt writes one line per SMTP transaction: the message, its
// recipients, the server's name and address, TLS or plain, the decisive
// reply, and how long the message has waited since it arrived.
//
// With TLS, the line also says how the server was verified (Postfix's
// "Verified TLS connection established", "Matched DANE EE certificate"):
// tls_level and tls_source, the level in force and where it came from
// (policy.Decision.Source: tlshosts/<mx>.pem, table:<key>, mta-sts, dane,
// default, ...), verify (verified or unverified) and, under DANE, the
// matching TLSA record's usage, selector and matching type.
func (t *Transport) logAttempt(g *group, env envelope, host, ip string, c *smtpclient.Conn, rt route, res []smtpclient.RcptResult, err error) {
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
		"tls_level", rt.level().String(), "tls_source", rt.dec.Source,
	}
	if st, on := c.TLS(); on {
		v := rt.dec.Verification(st)
		attrs = append(attrs, "verify", v.Class)
		if v.DANE != "" {
			attrs = append(attrs, "dane", v.DANE)
		}
	}
	attrs = append(attrs,
		"reply", reply,
		"delivered", delivered, "deferred", deferred, "failed", failed,
		"delay", g.now.Sub(g.job.Msg.Born).Round(1e6).String(),
	)
	if err != nil {
		attrs = append(attrs, "err", err.Error())
	}
	t.o.Logger.Info("smtp attempt", attrs...)
}

// level is the level a session on the route runs under: none for the
// plaintext fallback of may.
func (r route) level() policy.Level {
	if r.plain {
		return policy.None
	}
	return r.dec.Level
}

// tlsReport is the line a deferral after a TLS session ends with
// (starttlsText), "" without TLS.
func tlsReport(c *smtpclient.Conn, rt route) string {
	st, on := c.TLS()
	if !on {
		return ""
	}
	subject, issuer := "", ""
	if len(st.PeerCertificates) > 0 {
		subject, issuer = oneline(st.PeerCertificates[0].Subject), oneline(st.PeerCertificates[0].Issuer)
	}
	return starttlsText(ciphers.VersionName(st.Version), ciphers.Name(st.CipherSuite, st.Version), subject, issuer, rt.dec.Verification(st))
}

// oneline writes a name as OpenSSL's X509_NAME_oneline does, which
// qmail-tls prints: "/C=DE/O=Example/CN=mx.example.com", in the
// certificate's order.
func oneline(n pkix.Name) string {
	var b strings.Builder
	for _, a := range n.Names {
		fmt.Fprintf(&b, "/%s=%v", shortName(a.Type.String()), a.Value)
	}
	return b.String()
}

// shortName is OpenSSL's short name of a usual name attribute, else the
// attribute's OID.
func shortName(oid string) string {
	switch oid {
	case "2.5.4.3":
		return "CN"
	case "2.5.4.6":
		return "C"
	case "2.5.4.7":
		return "L"
	case "2.5.4.8":
		return "ST"
	case "2.5.4.10":
		return "O"
	case "2.5.4.11":
		return "OU"
	case "2.5.4.5":
		return "serialNumber"
	case "1.2.840.113549.1.9.1":
		return "emailAddress"
	}
	return oid
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
