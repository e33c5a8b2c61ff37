// Package bounce composes qmail-send's bounce messages byte for byte
// (qmail-send.c addbounce() and injectbounce()): the
// failure notice to the sender, the double bounce to the postmaster when
// a bounce fails, and the decision to discard a failed double bounce.
// With Format FormatDSN the same notices are RFC 3464 delivery status
// notifications instead, and ComposeDelay writes the delay warning qmail
// does not have.
package bounce

import (
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/internal/trace"
	"github.com/qsend/qsend/store"
)

// Settings are the control files that shape bounces (qmail-send.8,
// qmail-send.c getcontrols()). Values are used as given, as qmail uses the control files' first
// lines: an empty DoubleBounceTo makes the double-bounce recipient
// "@DoubleBounceHost", which qmail-send takes as "discard double bounces".
type Settings struct {
	BounceFrom       string // local part of the From: address, e.g. MAILER-DAEMON
	BounceHost       string // its domain, also named in the text
	DoubleBounceTo   string // local part of the double-bounce recipient, e.g. postmaster
	DoubleBounceHost string // its domain
	// Format is FormatQmail ("" too), qmail's text layout, or FormatDSN.
	Format string
	// MaxBody is, for FormatDSN, the largest original returned whole; a
	// larger one comes back as its header only (text/rfc822-headers).
	// 0 returns headers only. qmail's format always returns everything.
	MaxBody int64

	// Sign, when set, signs a composed bounce or delay notice before it
	// is queued (DKIM with the key of its From: domain or of me,
	// docs/dkim.md); it must never fail the bounce for a signing error.
	Sign func(io.Reader) io.Reader

	// token, when set, replaces the random MIME boundary and Message-ID
	// part (tests need fixed output).
	token string
}

// sign returns r signed by s.Sign, or r itself without one.
func (s Settings) sign(r io.Reader) io.Reader {
	if s.Sign == nil {
		return r
	}
	return s.Sign(r)
}

// Bounce formats (config key bounce.format).
const (
	FormatQmail = "qmail"
	FormatDSN   = "dsn"
)

// DefaultMaxBody is the suggested MaxBody, 1 MiB: enough for the text
// of nearly any message, so the sender sees what bounced, without mailing
// a 50 MB attachment back. (Postfix's bounce_size_limit is 50000 bytes.)
const DefaultMaxBody = 1 << 20

// Kind says what Compose made of a failed message.
type Kind int

const (
	// Single is a bounce to the original envelope sender.
	Single Kind = iota
	// Double is a bounce of a bounce, sent to doublebounceto.
	Double
	// Discard means a double bounce failed (the message's sender is
	// "#@[]"): qmail-send drops it and logs "triple bounce".
	Discard
	// DiscardDouble means a bounce failed and doublebounceto is empty:
	// qmail-send drops it and logs "double bounce".
	DiscardDouble
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Single:
		return "single"
	case Double:
		return "double"
	case Discard:
		return "discard"
	case DiscardDouble:
		return "discard-double"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// DoubleBounceSender is the envelope sender of a double bounce; a message
// with this sender is never bounced again (qmail-send.c injectbounce()).
const DoubleBounceSender = "#@[]"

// DedupeKey is the store's deduplication key of the bounce of message id,
// so a bounce is queued once even if qsend stops between queuing it and
// deleting the message it reports on.
func DedupeKey(id store.ID) string { return "bounce:" + id.String() }

// Compose returns the bounce qmail-send would queue for orig, whose
// recipients in failed have failed permanently (each with its LastResult),
// and the bounce's body: qmail-queue's Received line, the notice, and
// origBody after "Return-Path:". origBody is streamed, never read here, so
// a large message bounces in bounded memory; the caller reads the
// returned reader before closing origBody. now dates the bounce; pid is
// the queuing process, as qmail-queue's pid in qmail ("qp").
//
// For kinds Discard and DiscardDouble nothing is to be queued: the
// NewMessage is empty and the reader nil. Double bounces and discards
// are decided the same way in both formats.
func Compose(s Settings, orig store.Message, failed []store.Recipient, origBody io.Reader, now time.Time, pid int) (store.NewMessage, io.Reader, Kind) {
	// A VERP sender's bounce goes to the sender without the marker
	// (qmail-send.c injectbounce(): "owner-@host-@[]" bounces to "owner-@host").
	sender, _ := envelope.VERPBase(orig.Sender)
	doubleTo := s.DoubleBounceTo + "@" + s.DoubleBounceHost
	// qmail-send.c injectbounce: the checks and their order.
	switch {
	case sender == DoubleBounceSender:
		return store.NewMessage{}, nil, Discard
	case sender == "" && strings.HasPrefix(doubleTo, "@"):
		return store.NewMessage{}, nil, DiscardDouble
	}
	kind, from, to := Single, "", sender
	if sender == "" {
		kind, from, to = Double, DoubleBounceSender, doubleTo
	}
	nm := store.NewMessage{
		Sender:     from,
		Recipients: []string{to},
		Born:       now,
		Intake:     store.Intake{Protocol: "bounce", UID: os.Getuid(), PID: pid},
		DedupeKey:  DedupeKey(orig.ID),
	}
	if s.Format == FormatDSN {
		return nm, s.sign(composeDSN(s, orig, failed, origBody, now, pid, to, kind)), kind
	}

	var b strings.Builder
	// qmail-queue prepends its Received line to every message it queues
	// (qmail-queue.c); qmail-send runs it as qmails.
	b.WriteString(trace.Received(pid, "for bounce", now))
	b.WriteString("Date: " + trace.Date(now) + "\n")
	b.WriteString("From: " + envelope.QuoteLocal(s.BounceFrom) + "@" + s.BounceHost + "\n")
	b.WriteString("To: " + quoteAddr(to) + "\n")
	b.WriteString("Subject: " + qmailSubject + "\n\n")
	b.WriteString(greeting(s.BounceHost))
	if kind == Single {
		b.WriteString(introFailed)
	} else {
		b.WriteString(introDouble)
	}
	for _, r := range failed {
		b.WriteString(Report(r.Addr, r.LastResult))
	}
	if kind == Single {
		b.WriteString(belowCopy)
	} else {
		b.WriteString(belowBounce)
	}
	b.WriteString("Return-Path: <" + quoteAddr(sender) + ">\n")
	return nm, s.sign(io.MultiReader(strings.NewReader(b.String()), origBody)), kind
}

// Report is one failed recipient's paragraph of a bounce, as qmail-send's
// addbounce writes it to bounce/<id>: "<addr>:", the report text ending
// in LF, and a blank line. LFs in the address become "_"; an LF that
// follows another LF becomes "/", so the text has no blank line inside.
func Report(addr, text string) string {
	b := []byte("<" + strings.ReplaceAll(addr, "\n", "_") + ">:\n" + text)
	if text != "" && text[len(text)-1] != '\n' {
		b = append(b, '\n')
	}
	// Scanning down from the second-to-last byte, as addbounce does: the
	// final LF is never turned, so a text ending in a blank line keeps it.
	for i := len(b) - 2; i > 0; i-- {
		if b[i] == '\n' && b[i-1] == '\n' {
			b[i] = '/'
		}
	}
	return string(append(b, '\n'))
}
