package bounce

// The wording of bounces and delay warnings, kept here once. A bounce in
// qmail's format is qmail-send's byte for byte (qmail-send.c
// injectbounce()); a DSN (RFC 3464 in an RFC 6522 multipart/report) keeps
// qmail's sentences in its human-readable part, with Postfix's subject
// lines (bounce(5) templates). qmail has no delay warning: its sentences
// are qsend's, worded as qmail's. The recipients' paragraphs are their
// last results (Report), whose texts are the transports'.

// greeting opens the notice (qmail-send.c injectbounce()).
func greeting(host string) string { return "Hi. This is the qmail-send program at " + host + ".\n" }

const (
	// qmail-send.c injectbounce(): the subject, the notice of a bounce and
	// of a double bounce, and the line before the original.
	qmailSubject = "failure notice"
	introFailed  = "I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
		"This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
	introDouble = "I tried to deliver a bounce message to this address, but the bounce bounced!\n\n"
	belowCopy   = "--- Below this line is a copy of the message.\n\n"
	belowBounce = "--- Below this line is the original bounce.\n\n"

	// The delay warning's notice; qsend's own.
	introDelayed = "I'm still trying to deliver your message to the following addresses.\n" +
		"This is only a warning: you do not need to send the message again.\n" +
		"I'll tell you if I give up.\n\n"

	// Postfix's subject lines (bounce(5): failure and delay templates).
	subjectFailed  = "Undelivered Mail Returned to Sender"
	subjectDelayed = "Delayed Mail (still being retried)"

	// The MIME preamble for readers without MIME (RFC 2046 §5.1.1) and
	// the parts' Content-Description (RFC 2045 §8), after Postfix's.
	mimePreamble    = "This is a MIME-encapsulated message.\n\n"
	descNotice      = "Notification"
	descReport      = "Delivery report"
	descHeadersOnly = "Undelivered message headers"
	descMessage     = "Undelivered message"
)

// Texts returns every text of this package in a fixed order, the greeting
// rendered for the host mx.example.net, for a golden list of what qsend
// can put into a bounce.
func Texts() []string {
	return []string{
		greeting("mx.example.net"),
		qmailSubject, introFailed, introDouble, belowCopy, belowBounce,
		introDelayed, subjectFailed, subjectDelayed,
		mimePreamble, descNotice, descReport, descHeadersOnly, descMessage,
	}
}
