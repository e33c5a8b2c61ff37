package bounce

import (
	"net/netip"
	"regexp"
	"strings"
)

// Patterns over qmail-style result texts.
var (
	// qmail's own texts end in "(#5.1.1)" (qmail-send.c injectbounce();
	// RFC 3463 codes in qmail-local and qmail-remote messages).
	hashStatus = regexp.MustCompile(`#([245]\.[0-9]{1,3}\.[0-9]{1,3})\b`)
	// A remote reply gives its enhanced code after the reply code
	// (RFC 2034 §4: "550 5.1.1 ...").
	replyStatus = regexp.MustCompile(`(?:^|\s)[245][0-9][0-9][ -]([245]\.[0-9]{1,3}\.[0-9]{1,3})\b`)
	// qmail-remote names the host it spoke to in these phrases
	// (qmail-remote.c: "Connected to %s but ...", "%s does not like
	// recipient.", "Giving up on %s.").
	remoteHost = regexp.MustCompile(`(?m)(?:^Connected to ([^ \n]+) but|^([^ \n]+) does not like recipient\.|^Giving up on ([^ \n]+?)\.$)`)
)

// remoteSaid is how qmail-remote introduces the remote server's reply.
const remoteSaid = "Remote host said: "

// statusOf returns the RFC 3463 status code of a recipient's last
// result: its "#x.y.z", else the enhanced code after a reply code, else
// def (RFC 3464 §2.3.4 requires a Status in every recipient's fields).
func statusOf(text, def string) string {
	if m := hashStatus.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	if m := replyStatus.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return def
}

// remoteReply returns the remote server's reply carried by a qmail-remote
// text: the rest of the "Remote host said:" line and the continuation
// lines of a multiline reply (which start with the reply code), joined by
// spaces; "" when the text carries none.
func remoteReply(text string) string {
	i := strings.Index(text, remoteSaid)
	if i < 0 {
		return ""
	}
	lines := strings.Split(text[i+len(remoteSaid):], "\n")
	out := lines[0]
	code := ""
	if len(out) >= 3 {
		code = out[:3]
	}
	for _, l := range lines[1:] {
		if code == "" || !strings.HasPrefix(l, code) {
			break
		}
		out += " " + l
	}
	return fieldText(out)
}

// remoteMTA returns the host named in a qmail-remote text, as an RFC 3464
// §2.3.5 "dns" name: an IP address in brackets, as an address literal.
func remoteMTA(text string) string {
	m := remoteHost.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	h := m[1] + m[2] + m[3]
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Is6() && !a.Is4In6() {
			return "[IPv6:" + a.String() + "]"
		}
		return "[" + a.String() + "]"
	}
	return fieldText(h)
}

// maxField bounds a field's value, so the line stays under RFC 5322
// §2.1.1's 998 characters.
const maxField = 900

// fieldText makes s safe as one header line: control characters become
// spaces and it is cut at maxField bytes.
func fieldText(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = ' '
		}
	}
	if len(b) > maxField {
		b = b[:maxField]
	}
	return strings.TrimSpace(string(b))
}
