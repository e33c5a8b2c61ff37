package bounce

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/internal/trace"
	"github.com/qsend/qsend/store"
)

// action is an RFC 3464 §2.3.3 Action value with what goes with it.
type action struct {
	name       string // "failed" or "delayed"
	subject    string
	defStatus  string // Status when the text carries none
	intro      string // the human-readable part after the greeting
	headerOnly bool   // return the original's header whatever its size
}

var (
	// failedAction is a bounce (Postfix's subject line; qmail's words).
	failedAction = action{name: "failed", subject: subjectFailed, defStatus: "5.0.0", intro: introFailed}
	// doubleAction is a bounce of a bounce, to the postmaster.
	doubleAction = action{name: "failed", subject: subjectFailed, defStatus: "5.0.0", intro: introDouble}
	// delayedAction is a delay warning: the header of the original is
	// enough to recognise it (Postfix sends the same).
	delayedAction = action{name: "delayed", subject: subjectDelayed, defStatus: "4.0.0", intro: introDelayed, headerOnly: true}
)

// composeDSN returns the body of a delivery status notification about
// orig (RFC 3464 §2, in an RFC 6522 multipart/report): the human-readable
// notice, the message/delivery-status part and the original, whole
// (message/rfc822) when it is at most s.MaxBody bytes, else its header
// (text/rfc822-headers). The original is streamed from origBody.
func composeDSN(s Settings, orig store.Message, rcpts []store.Recipient, origBody io.Reader, now time.Time, pid int, to string, kind Kind) io.Reader {
	a := failedAction
	if kind == Double {
		a = doubleAction
	}
	return writeDSN(s, a, orig, rcpts, origBody, now, pid, to)
}

// writeDSN is composeDSN for any action.
func writeDSN(s Settings, a action, orig store.Message, rcpts []store.Recipient, origBody io.Reader, now time.Time, pid int, to string) io.Reader {
	token := s.token
	if token == "" {
		token = randomToken()
	}
	// A boundary of 128 random bits does not occur in any content by
	// chance, and "=_" cannot start a line of quoted-printable or base64
	// (RFC 2046 §5.1.1 asks for a boundary not in the encapsulated text).
	boundary := "=_qsend_" + token
	host := fieldText(s.BounceHost)
	date := trace.Date(now)

	var b strings.Builder
	// qmail-queue's Received line, as on qmail's bounces (qmail-queue.c).
	b.WriteString(trace.Received(pid, "for bounce", now))
	b.WriteString("Date: " + date + "\n")
	b.WriteString("From: " + envelope.QuoteLocal(s.BounceFrom) + "@" + host + "\n")
	b.WriteString("To: " + quoteAddr(to) + "\n")
	b.WriteString("Subject: " + a.subject + "\n")
	b.WriteString("Message-ID: <" + strconv.FormatInt(now.Unix(), 10) + "." + orig.ID.String() + "." + token + "@" + host + ">\n")
	// RFC 3834 §5: an automatic response says so, so that other
	// responders do not answer it.
	b.WriteString("Auto-Submitted: auto-replied\n")
	b.WriteString("MIME-Version: 1.0\n")
	// RFC 6522 §3: multipart/report with the report-type parameter.
	b.WriteString("Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"" + boundary + "\"\n")
	// The original is returned as it is, which may be 8-bit.
	b.WriteString("Content-Transfer-Encoding: 8bit\n\n")
	b.WriteString(mimePreamble)

	// Part 1: the notice, in qmail's words (qmail-send.c injectbounce()).
	b.WriteString("--" + boundary + "\n")
	b.WriteString("Content-Description: " + descNotice + "\nContent-Type: text/plain; charset=us-ascii\n\n")
	b.WriteString(greeting(host))
	b.WriteString(a.intro)
	for _, r := range rcpts {
		b.WriteString(Report(r.Addr, r.LastResult))
	}

	// Part 2: the machine-readable report (RFC 3464 §2.2, §2.3).
	b.WriteString("--" + boundary + "\n")
	b.WriteString("Content-Description: " + descReport + "\nContent-Type: message/delivery-status\n\n")
	b.WriteString("Reporting-MTA: dns; " + host + "\n")
	b.WriteString("X-Qsend-Queue-ID: " + orig.ID.String() + "\n")
	if !orig.Born.IsZero() {
		b.WriteString("Arrival-Date: " + trace.Date(orig.Born) + "\n")
	}
	for _, r := range rcpts {
		b.WriteString("\n")
		b.WriteString("Final-Recipient: rfc822; " + fieldText(r.Addr) + "\n")
		b.WriteString("Action: " + a.name + "\n")
		b.WriteString("Status: " + statusOf(r.LastResult, a.defStatus) + "\n")
		if mta := remoteMTA(r.LastResult); mta != "" {
			b.WriteString("Remote-MTA: dns; " + mta + "\n")
		}
		if reply := remoteReply(r.LastResult); reply != "" {
			b.WriteString("Diagnostic-Code: smtp; " + reply + "\n")
		}
		if !r.LastAttempt.IsZero() {
			b.WriteString("Last-Attempt-Date: " + trace.Date(r.LastAttempt) + "\n")
		}
	}

	// Part 3: the original, or its header when it is too large.
	b.WriteString("\n--" + boundary + "\n")
	body := origBody
	if a.headerOnly || orig.Size > s.MaxBody {
		b.WriteString("Content-Description: " + descHeadersOnly + "\nContent-Type: text/rfc822-headers\n\n")
		body = newHeaderReader(origBody)
	} else {
		b.WriteString("Content-Description: " + descMessage + "\nContent-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\n")
	}
	// The LF before the closing delimiter belongs to the delimiter
	// (RFC 2046 §5.1.1), so the original comes back unchanged.
	return io.MultiReader(strings.NewReader(b.String()), body, strings.NewReader("\n--"+boundary+"--\n"))
}

// randomToken returns 128 random bits in hex.
func randomToken() string {
	var r [16]byte
	rand.Read(r[:]) // never fails (crypto/rand since Go 1.24)
	return hex.EncodeToString(r[:])
}
