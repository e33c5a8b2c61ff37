package delivery

// The texts the scheduler and the transports put into a recipient's last
// result, kept here once. They end in LF where they are a line of the
// report (a result text is lines, as qmail-send keeps a deferral text).

// TextInterrupted is the deferral of a recipient whose delivery was
// stopped by shutdown before it finished, for every transport; qsend's own
// wording, with the status code of qmail-remote.c's and qmail-local.c's
// temporary failures (#4.3.0, RFC 3463 §3.4). It has no final LF.
const TextInterrupted = "Delivery was interrupted. (#4.3.0)"

const (
	// dyingText is what qmail-send adds to a deferral in a message's last
	// pass before turning it into a failure (qmail-send.c, the "I'm not
	// going to try again" line of the bounce; see nextretry()).
	dyingText = "I'm not going to try again; this message has been in the queue too long.\n"

	// giveUpText is added to the last result of a recipient the postmaster
	// gave up on (`qsend queue bounce`); qmail has no such command, so the
	// wording follows dyingText.
	giveUpText = "I'm not going to try again; the postmaster cancelled delivery of this message.\n"

	// noResultText is the deferral of a recipient the transport said
	// nothing about, in the style of qmail-lspawn.c and qmail-rspawn.c
	// ("Zqmail-local crashed.").
	noResultText = "qsend transport gave no result for this recipient. (#4.3.0)\n"
)

// Texts returns every text of this package in a fixed order, for a golden
// list of what qsend can store.
func Texts() []string {
	return []string{TextInterrupted, dyingText, giveUpText, noResultText}
}
