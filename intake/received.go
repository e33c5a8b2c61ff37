package intake

import (
	"os/user"
	"strconv"
	"time"
)

// DateFormat is the date layout of qmail's Received and Date lines:
// "26 Sep 1995 04:46:54 -0000", always UTC (qmail-semantics.md §2.1, §3.5).
const DateFormat = "2 Jan 2006 15:04:05 -0000"

// Date formats t as qmail does.
func Date(t time.Time) string { return t.UTC().Format(DateFormat) }

// Invokers maps a submitter's uid to the words qmail-queue writes after
// "invoked" in its Received line: the uids of qmail's alias, qmaild and
// qmails users give "by alias", "from network" and "for bounce"
// (qmail-semantics.md §4.1); any other uid gives "by uid N".
type Invokers struct {
	alias, qmaild, qmails int
}

// LookupInvokers finds the uids of the users alias, qmaild and qmails; a
// user that does not exist matches no uid.
func LookupInvokers() Invokers {
	uid := func(name string) int {
		u, err := user.Lookup(name)
		if err != nil {
			return -1
		}
		n, err := strconv.Atoi(u.Uid)
		if err != nil {
			return -1
		}
		return n
	}
	return Invokers{alias: uid("alias"), qmaild: uid("qmaild"), qmails: uid("qmails")}
}

// Words returns what follows "invoked" for uid.
func (iv Invokers) Words(uid int) string {
	switch {
	case uid < 0:
		return "by uid unknown"
	case uid == iv.alias:
		return "by alias"
	case uid == iv.qmaild:
		return "from network"
	case uid == iv.qmails:
		return "for bounce"
	}
	return "by uid " + strconv.Itoa(uid)
}

// Received returns the line qmail-queue prepends to every message:
// "Received: (qmail PID invoked WORDS); DATE\n" (qmail-semantics.md §4.1).
func Received(pid int, words string, t time.Time) string {
	return "Received: (qmail " + strconv.Itoa(pid) + " invoked " + words + "); " + Date(t) + "\n"
}
