package inject

// field is a header field qmail-inject knows by name (qmail's hfield.c).
type field int

const (
	fUnknown field = iota
	fSender
	fFrom
	fReplyTo
	fTo
	fCc
	fBcc
	fDate
	fMessageID
	fSubject
	fResentSender
	fResentFrom
	fResentReplyTo
	fResentTo
	fResentCc
	fResentBcc
	fResentDate
	fResentMessageID
	fReturnReceiptTo
	fErrorsTo
	fApparentlyTo
	fReceived
	fReturnPath
	fDeliveredTo
	fContentLength
	fContentType
	fContentTransferEncoding
	fNoticeRequestedUponDeliveryTo
	fMailFollowupTo
	numFields
)

// fieldNames are the names of the known fields, lower case, in the order
// of the constants above.
var fieldNames = [numFields]string{
	"", "sender", "from", "reply-to", "to", "cc", "bcc", "date", "message-id", "subject",
	"resent-sender", "resent-from", "resent-reply-to", "resent-to", "resent-cc", "resent-bcc",
	"resent-date", "resent-message-id", "return-receipt-to", "errors-to", "apparently-to",
	"received", "return-path", "delivered-to", "content-length", "content-type",
	"content-transfer-encoding", "notice-requested-upon-delivery-to", "mail-followup-to",
}

// knownField returns which known field the header line h is: its name in
// any case, then optional blanks and a colon.
func knownField(h []byte) field {
	for f := fSender; f < numFields; f++ {
		if nameMatches(h, fieldNames[f]) {
			return f
		}
	}
	return fUnknown
}

func nameMatches(h []byte, name string) bool {
	if len(h) < len(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := h[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	for _, c := range h[len(name):] {
		switch c {
		case ':':
			return true
		case ' ', '\t':
		default:
			return false
		}
	}
	return false
}

// validField reports whether the line h starts a header field: a
// non-empty name of printable ASCII without spaces, then optional blanks
// and a colon (RFC 822 §3.2, qmail's hfield_valid).
func validField(h []byte) bool {
	name, ok := fieldName(h)
	if !ok || name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= 32 || c >= 127 {
			return false
		}
	}
	return true
}

// fieldName returns what precedes the first colon of h, blanks before the
// colon removed, and whether h has a colon.
func fieldName(h []byte) (string, bool) {
	for j, c := range h {
		if c == ':' {
			for j > 0 && (h[j-1] == ' ' || h[j-1] == '\t') {
				j--
			}
			return string(h[:j]), true
		}
	}
	return "", false
}

// brokenField reports whether the line h, which is not a valid field,
// is a field with a broken name rather than the first line of a body
// that has no empty line before it: its name is one word, but it holds
// control characters or 8-bit bytes. qmail-inject takes such a line for
// the body; qsend refuses the message instead (docs/qmail.md, deliberate differences), as a
// field name like that is never meant as text.
func brokenField(h []byte) bool {
	name, ok := fieldName(h)
	if !ok || name == "" {
		return false
	}
	bad := false
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == ' ' || c == '\t':
			return false
		case c < 32 || c >= 127:
			bad = true
		}
	}
	return bad
}
