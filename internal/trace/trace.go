// Package trace writes what qmail adds to a message on its way through the
// queue: the Received line qmail-queue prepends, the words that name who
// invoked it, and the date layout of qmail's Received and Date lines. The
// daemon's intake, the SMTP server and bounces share it.
package trace

import (
	"os/user"
	"strconv"
	"time"
)

// DateFormat is the date layout of qmail's Received and Date lines:
// "26 Sep 1995 04:46:54 -0000", always UTC (date822fmt.c, used by received.c and qmail-queue.c).
const DateFormat = "2 Jan 2006 15:04:05 -0000"

// Date formats t as qmail does.
func Date(t time.Time) string { return t.UTC().Format(DateFormat) }

// Invokers maps a submitter's uid to the words qmail-queue writes after
// "invoked" in its Received line: the uids of qmail's alias, qmaild and
// qmails users give "by alias", "from network" and "for bounce"
// (qmail-queue.c); any other uid gives "by uid N".
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
// "Received: (qmail PID invoked WORDS); DATE\n" (qmail-queue.c).
func Received(pid int, words string, t time.Time) string {
	return "Received: (qmail " + strconv.Itoa(pid) + " invoked " + words + "); " + Date(t) + "\n"
}
