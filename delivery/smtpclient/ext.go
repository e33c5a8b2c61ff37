package smtpclient

import (
	"strconv"
	"strings"
)

// Extensions are the service extensions the server announced in its EHLO
// reply. After HELO they are all off.
type Extensions struct {
	Pipelining, EightBitMIME, SMTPUTF8, Enhanced, StartTLS, Chunking, DSN bool
	Size                                                                  int64 // SIZE limit; 0 when not advertised or unlimited
	SizeOffered                                                           bool  // SIZE was advertised, with or without a limit
	Auth                                                                  []string
}

// parseExtensions reads the EHLO reply lines after the first (RFC 5321
// §4.1.1.1). The keyword ends at a space or tab and is compared
// case-insensitively; anything from "=" on is cut, for servers that still
// send "AUTH=LOGIN" (qmail-tls qmail-remote.c ehlo()).
func parseExtensions(lines []string) Extensions {
	var e Extensions
	if len(lines) < 2 {
		return e
	}
	for _, l := range lines[1:] {
		kw, params, _ := strings.Cut(strings.ReplaceAll(l, "\t", " "), " ")
		if k, p, ok := strings.Cut(kw, "="); ok {
			kw = k
			params = strings.TrimSpace(p + " " + params)
		}
		switch strings.ToUpper(kw) {
		case "PIPELINING":
			e.Pipelining = true
		case "8BITMIME":
			e.EightBitMIME = true
		case "SMTPUTF8":
			e.SMTPUTF8 = true
		case "ENHANCEDSTATUSCODES":
			e.Enhanced = true
		case "STARTTLS":
			e.StartTLS = true
		case "CHUNKING":
			e.Chunking = true
		case "DSN":
			e.DSN = true
		case "SIZE":
			// RFC 1870 §4: an optional limit, 0 meaning none.
			e.SizeOffered = true
			if n, err := strconv.ParseInt(strings.TrimSpace(params), 10, 64); err == nil && n > 0 {
				e.Size = n
			}
		case "AUTH":
			for _, m := range strings.Fields(params) {
				e.Auth = append(e.Auth, strings.ToUpper(m))
			}
		}
	}
	return e
}
