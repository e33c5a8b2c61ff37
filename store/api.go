// Package store keeps qsend's mail queue in one bbolt file: messages with
// their envelope and per-recipient delivery state, bodies stored in chunks,
// a schedule index ordered by next attempt time, and deduplication keys that
// make imports and bounces happen exactly once.
//
// Every mutating call returns only after its transaction is fsynced, and
// concurrent Enqueue calls share commits (group commit).
package store

import (
	"errors"
	"strconv"
	"time"
)

// ID identifies a queued message. IDs are decimal numbers, as qmail's are,
// so qmail log tools that parse "msg <number>" keep working. They are
// allocated from a monotonic sequence and never reused within one file.
type ID uint64

// String returns the decimal form of the id.
func (id ID) String() string { return strconv.FormatUint(uint64(id), 10) }

// ParseID parses the decimal form of an id.
func ParseID(s string) (ID, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, errors.New("invalid message id " + strconv.Quote(s))
	}
	return ID(n), nil
}

// RcptState is where one recipient of a message stands.
type RcptState uint8

const (
	// Pending: not attempted yet.
	Pending RcptState = iota
	// Deferred: attempted, failed temporarily, will be retried.
	Deferred
	// Delivered: accepted by the next hop; final.
	Delivered
	// Failed: failed permanently; final, and owed a bounce.
	Failed
)

// String returns the lower-case name used in listings and JSON.
func (s RcptState) String() string {
	switch s {
	case Pending:
		return "pending"
	case Deferred:
		return "deferred"
	case Delivered:
		return "delivered"
	case Failed:
		return "failed"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Final reports whether no further attempt will be made for the recipient.
func (s RcptState) Final() bool { return s == Delivered || s == Failed }

// Recipient is one envelope recipient with its own delivery state.
type Recipient struct {
	Addr        string
	State       RcptState
	Attempts    int
	NextAttempt time.Time // when it is due; meaningful while not Final
	LastAttempt time.Time // zero if never attempted
	LastResult  string    // text of the last attempt, qmail-remote style
	// TLSPolicy says that the last attempt failed because the
	// destination's TLS policy could not be met (Result.TLSPolicy).
	TLSPolicy bool
}

// Intake records how a message entered the queue.
type Intake struct {
	Protocol   string // "qmail-queue", "maildrop", "bounce", "smtp", "esmtps", ...
	UID        int    // submitter's uid (peer credentials or file owner); -1 unknown
	PID        int    // submitting process ("qp" in qmail's log), 0 unknown
	ClientAddr string // remote IP for SMTP intake
	HELO       string
	TLS        string // cipher description when received over TLS
	Auth       string // authenticated identity (SASL user or certificate address)
}

// Message is a queued message's metadata: everything but the body.
type Message struct {
	ID         ID
	Sender     string // envelope sender; "" is the null sender
	Recipients []Recipient
	Born       time.Time // arrival; qmail's "birth" that drives the retry formula
	Size       int64     // body bytes as stored
	Held       bool
	Intake     Intake
	// Warned is set once a delay warning about the message was queued,
	// so the sender gets at most one.
	Warned bool
	// EightBit says the body has a byte above 127, found while it was
	// stored, so a delivery can ask for BODY=8BITMIME (RFC 6152) without
	// reading the body first.
	EightBit bool
	// SMTPUTF8 says the message came with SMTPUTF8 on MAIL (RFC 6531
	// §3.4): its next hop must offer SMTPUTF8 too.
	SMTPUTF8 bool
	// WireSize is the body's size with CRLF line ends, as SMTP sends it
	// and RFC 1870 §3 counts it: Size plus one octet for each bare LF or
	// bare CR, plus two for a final line without a line end. It is found
	// while the body is stored; 0 for messages stored before it was
	// (then Size is the nearest there is).
	WireSize int64
}

// NewMessage is what Enqueue needs besides the body.
type NewMessage struct {
	Sender     string
	Recipients []string  // at least one
	Born       time.Time // zero means now
	Intake     Intake
	Held       bool
	SMTPUTF8   bool // Message.SMTPUTF8
	// DedupeKey, when not empty, makes the enqueue happen at most once:
	// if a message was already enqueued with this key, Enqueue stores
	// nothing and returns that message's id with ErrDuplicate. The key is
	// kept until ForgetKey or until the message it names is deleted.
	DedupeKey string
	// WarnedOf, when not 0, is the message this one is a delay warning
	// about: the transaction that stores it (or finds it already stored
	// under DedupeKey) also sets that message's Warned flag, so a warning
	// is queued at most once however the process stops. A WarnedOf that
	// no longer exists is ignored.
	WarnedOf ID
	// SizeHint, when positive, is the body's expected size: the first
	// read buffer is made that large at once instead of growing (a
	// 100 KB message then costs one allocation, not six).
	SizeHint int
}

// Result is the outcome of one attempt for one recipient (by index into
// Message.Recipients).
type Result struct {
	Index int
	State RcptState // Delivered, Failed or Deferred
	Text  string
	At    time.Time
	// Next is the next attempt time for a Deferred result.
	Next time.Time
	// NotAttempted marks a Deferred result that was a wait, not an
	// attempt (the destination is backed off or busy): it sets only the
	// recipient's next attempt time, and its last result when Text is not
	// empty, and leaves Attempts and LastAttempt as they were.
	NotAttempted bool
	// TLSPolicy marks a Deferred result caused by a TLS policy that could
	// not be met (no STARTTLS, a certificate that does not verify, DANE or
	// MTA-STS mismatch): at the end of the queue lifetime such a message
	// is held instead of bounced (tls.on_expiry).
	TLSPolicy bool
}

// Errors returned by the store. Test with errors.Is.
var (
	ErrNotFound  = errors.New("no such message")
	ErrDuplicate = errors.New("already enqueued under this key")
	ErrCorrupt   = errors.New("queue file is damaged")
	ErrLocked    = errors.New("queue file is in use by another process")
)
