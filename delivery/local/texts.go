package local

import (
	"strconv"
	"syscall"
	"time"

	"github.com/qsend/qsend/delivery"
)

// Every text the local transport puts into a recipient's last result.
// qmail-local's, qmail-lspawn's and qmail-remote's where those have one,
// byte for byte; for a full disk or quota the RFC 3463 §3.2/§3.4 codes
// X.2.2 (mailbox full) and X.3.1 (system full), temporary as a full disk
// may be cleaned up. A text without a final LF gets one when it becomes a
// result (lineEnd).
const (
	// qmail-local.c maildir(), when maildir_child() cannot chdir.
	textNoMaildir = "Unable to chdir to maildir. (#4.2.1)"
	// qsend's own, worded as qmail-local's, for what qmail-local reports
	// as "Temporary error on maildir delivery. (#4.3.0)" or not at all.
	textWrite       = "Unable to write to maildir. (#4.3.0)"
	textQuota       = "Unable to write to maildir: mailbox over quota. (#4.2.2)"
	textDiskFull    = "Unable to write to maildir: disk full. (#4.3.1)"
	textLookup      = "Unable to look up the user's home directory. (#4.3.0)"
	textBadMailbox  = "Sorry, this address cannot name a mailbox. (#5.1.3)"
	textMaildirMade = "Unable to create the maildir. (#4.3.0)"

	// qmail-local.c main(): a Delivered-To line for this address already
	// in the header.
	textLoop = "This message is looping: it already has my Delivered-To line. (#5.4.6)"
	// qmail-lspawn.c report(): qmail-getpw found no such user.
	textNoMailbox = "Sorry, no mailbox here by that name. (#5.1.1)"
	// qmail-local.c main(): the message cannot be read.
	textUnreadable = "Unable to read message. (#4.3.0)"
	// A delivery stopped by shutdown, as every transport says it.
	textInterrupted = delivery.TextInterrupted

	// qmail-lspawn's reports for the user it cannot run a delivery as
	// (qmail-lspawn.c, qmail-getpw.c); both temporary.
	textNoAlias = "Unable to find alias user!"
	textAsRoot  = "Not allowed to perform deliveries as root."

	// The LMTP server's reply, as qmail-remote.c outsmtptext() starts
	// "Remote host said: ".
	textLMTPSaid = "LMTP server said: "
	// qmail-remote.c dropped(): the warning once the final dot was sent.
	textPossibleDup = "Possible duplicate!"
	// An LMTP deferral without any reply or error.
	textNoReply = "no reply"
)

// textDid is a maildir delivery: qmail-local.c main()'s "did" line of
// counts (here one), with the file delivered to.
func textDid(dst string) string { return "did 0+1+0/ " + dst }

// textTimeout is a command that ran out of time (qmail-local.c's
// "Timeout on maildir delivery. (#4.3.0)", for a command).
func textTimeout(prog string, ran time.Duration) string {
	return "Timeout on command delivery: " + prog + " ran for " + ran.Round(time.Second).String() + ". (#4.3.0)"
}

// textCrashed is a command killed by a signal (qmail-lspawn.c's
// "Zqmail-local crashed.", naming the command and the signal).
func textCrashed(prog string, sig syscall.Signal) string {
	return prog + " crashed (killed by signal " + strconv.Itoa(int(sig)) + ": " + sig.String() + ")."
}

// textSucceeded is a command that exited 0 without output.
func textSucceeded(prog string) string { return prog + " succeeded." }

// textExited is a command that exited non-zero without output.
func textExited(prog string, code int) string {
	return prog + " exited with status " + strconv.Itoa(code) + "."
}

// textUnableToRun is a command that could not be started (qmail-lspawn.c
// "Unable to run qmail-local.", with #4.3.0 as qsend defers it).
func textUnableToRun(path string) string { return "Unable to run " + path + ". (#4.3.0)" }

// textLMTPDown is the report when the LMTP server cannot be reached;
// temporary, as a mailbox server that is down will be back (RFC 3463 X.4.1).
func textLMTPDown(server string) string { return "LMTP server " + server + " unavailable. (#4.4.1)" }

// textLMTPSession is an LMTP session lost before a recipient's reply
// (qmail-remote.c dropped()'s #4.4.2).
func textLMTPSession(server string) string {
	return "LMTP session with " + server + " failed. (#4.4.2)"
}

// The first line of an LMTP recipient's result, in qmail-remote's words
// (qmail-remote.c smtp()) with the server's name.
func textLMTPAccepted(server string) string { return server + " accepted message.\n" }
func textLMTPRefused(server string) string  { return server + " does not like recipient.\n" }
func textLMTPDeferred(server string) string { return "LMTP delivery to " + server + " deferred.\n" }

// Texts returns every text of this package in a fixed order, the
// formatting ones rendered with the command /usr/bin/procmail and the
// server unix:/run/dovecot/lmtp, for a golden list of what qsend can store.
// textInterrupted is listed by its home, package delivery.
func Texts() []string {
	const path, prog, server = "/usr/bin/procmail", "procmail", "unix:/run/dovecot/lmtp"
	return []string{
		textNoMaildir, textWrite, textQuota, textDiskFull, textLookup, textBadMailbox, textMaildirMade,
		textLoop, textNoMailbox, textUnreadable, textNoAlias, textAsRoot,
		textDid("/home/joe/Maildir/new/1764790000.M1P2Q3.mx.example.net"),
		textTimeout(prog, 600*time.Second),
		textCrashed(prog, syscall.SIGKILL),
		textSucceeded(prog),
		textExited(prog, 100),
		textUnableToRun(path),
		textLMTPDown(server),
		textLMTPSession(server),
		textLMTPAccepted(server) + textLMTPSaid + "250 2.0.0 Ok",
		textLMTPRefused(server) + textLMTPSaid + "550 5.1.1 No such user",
		textLMTPDeferred(server) + textLMTPSaid + "451 4.3.0 Try again\n" + textPossibleDup,
		textLMTPDeferred(server) + textNoReply,
	}
}
