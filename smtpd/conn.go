package smtpd

import (
	"net/netip"
	"strconv"
)

// Conn describes the client of one session: what tcpserver puts in
// qmail-smtpd's environment, or what Serve and its Rules fill in.
type Conn struct {
	RemoteIP, LocalIP     netip.Addr // TCPREMOTEIP, TCPLOCALIP; invalid = "unknown"
	RemotePort, LocalPort uint16     // TCPREMOTEPORT, TCPLOCALPORT
	RemoteHost            string     // TCPREMOTEHOST; "" = "unknown"
	RemoteInfo            string     // TCPREMOTEINFO; "" = not set
	LocalHost             string     // TCPLOCALHOST; "" = use LocalIP
	// Relay is set when RELAYCLIENT is: rcpthosts is not consulted, and
	// RelayClient (its value, often empty) is appended to every
	// recipient (qmail-smtpd.c).
	Relay       bool
	RelayClient string
	// Databytes is DATABYTES: 0 = not set (use Options.Databytes), a
	// negative value = no limit (DATABYTES=0), else the limit in bytes.
	Databytes int64
	// TLSCiphers is TLSCIPHERS, an OpenSSL cipher string overriding the
	// server's for this client; "" = not set.
	TLSCiphers string
	// NoBadHelo is NOBADHELO: badhelo is not consulted.
	NoBadHelo bool
	// ImplicitTLS is SMTPS: the TLS handshake comes before the greeting.
	ImplicitTLS bool
	// RequireAuth makes this a submission session: MAIL needs AUTH first.
	RequireAuth bool
}

// ConnFromEnv reads a session's client description from qmail-smtpd's
// environment (qmail-smtpd.c; qmail-tls qmail-smtpd.c tls_init()): lookup is os.LookupEnv or
// a stand-in. Addresses that do not parse are "unknown". DATABYTES is read
// as qmail's scan_ulong does: leading digits, none meaning 0, and 0 means
// no limit. SMTPS and NOBADHELO count when present, whatever their value
// (qmail-tls tests presence).
func ConnFromEnv(lookup func(key string) (string, bool)) Conn {
	get := func(k string) string { v, _ := lookup(k); return v }
	var c Conn
	c.RemoteIP = parseIP(get("TCPREMOTEIP"))
	c.LocalIP = parseIP(get("TCPLOCALIP"))
	c.RemotePort = parsePort(get("TCPREMOTEPORT"))
	c.LocalPort = parsePort(get("TCPLOCALPORT"))
	c.RemoteHost = get("TCPREMOTEHOST")
	c.RemoteInfo = get("TCPREMOTEINFO")
	c.LocalHost = get("TCPLOCALHOST")
	c.RelayClient, c.Relay = lookup("RELAYCLIENT")
	if v, ok := lookup("DATABYTES"); ok {
		c.Databytes = scanDatabytes(v)
	}
	c.TLSCiphers = get("TLSCIPHERS")
	_, c.NoBadHelo = lookup("NOBADHELO")
	_, c.ImplicitTLS = lookup("SMTPS")
	return c
}

func parseIP(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func parsePort(s string) uint16 {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0
	}
	return uint16(n)
}

// scanDatabytes reads DATABYTES as scan_ulong does and returns the
// Conn.Databytes form: a negative value for 0 (no limit).
func scanDatabytes(s string) int64 {
	var n int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n > (1<<62)/10 {
			return 1 << 62 // larger than any message
		}
		n = n*10 + int64(s[i]-'0')
	}
	if n == 0 {
		return -1
	}
	return n
}
