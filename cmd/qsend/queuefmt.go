package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/store"
)

// qreadDate is qmail-qread's date layout: "26 Sep 1995 04:46:54 GMT"
// (qmail-qread.c main()).
const qreadDate = "2 Jan 2006 15:04:05 GMT"

// list prints every message, in qmail-qread's layout or as JSON lines.
func (a *app) list(b queueBackend, asJSON bool, route func(string) delivery.Channel) error {
	w := bufio.NewWriter(a.stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	return b.List(context.Background(), func(m store.Message) error {
		if asJSON {
			return enc.Encode(jsonMessage(m))
		}
		writeQread(w, m, route)
		return nil
	})
}

// writeQread prints one message as qmail-qread does: a summary line, then a
// line per recipient, "  done" before the finished ones. qsend adds "held"
// where qmail-qread has only "bouncing".
func writeQread(w io.Writer, m store.Message, route func(string) delivery.Channel) {
	fmt.Fprintf(w, "%s  #%d  %d  <%s> ", m.Born.UTC().Format(qreadDate), m.ID, m.Size, printable(m.Sender))
	bouncing := false
	for _, r := range m.Recipients {
		bouncing = bouncing || r.State == store.Failed
	}
	if bouncing {
		fmt.Fprint(w, " bouncing")
	}
	if m.Held {
		fmt.Fprint(w, " held")
	}
	fmt.Fprintln(w)
	for _, r := range m.Recipients {
		done := ""
		if r.State.Final() {
			done = "  done"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", done, route(r.Addr), printable(r.Addr))
	}
}

// printable replaces bytes outside 32..126 by '_', as qmail-qread does.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 32 || r > 126 {
			return '_'
		}
		return r
	}, s)
}

// listedMessage is the JSON form of `queue list --json`.
type listedMessage struct {
	ID          store.ID          `json:"id"`
	ArrivalTime time.Time         `json:"arrival_time"`
	Size        int64             `json:"size"`
	Sender      string            `json:"sender"`
	Held        bool              `json:"held"`
	Recipients  []listedRecipient `json:"recipients"`
}

type listedRecipient struct {
	Address     string     `json:"address"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"` // absent once final
	LastAttempt *time.Time `json:"last_attempt,omitempty"`
	LastResult  string     `json:"last_result"`
}

func jsonMessage(m store.Message) listedMessage {
	out := listedMessage{ID: m.ID, ArrivalTime: m.Born.UTC(), Size: m.Size, Sender: m.Sender, Held: m.Held}
	for _, r := range m.Recipients {
		lr := listedRecipient{Address: r.Addr, State: r.State.String(), Attempts: r.Attempts, LastResult: r.LastResult}
		if !r.State.Final() {
			t := r.NextAttempt.UTC()
			lr.NextAttempt = &t
		}
		if !r.LastAttempt.IsZero() {
			t := r.LastAttempt.UTC()
			lr.LastAttempt = &t
		}
		out.Recipients = append(out.Recipients, lr)
	}
	return out
}

// writeStat prints qmail-qstat's two lines (qmail-qstat.sh); the
// maildrop plays the part of qmail's todo directory.
func writeStat(w io.Writer, s ctl.Stat) {
	fmt.Fprintf(w, "messages in queue: %d\n", s.Messages+s.Unprocessed)
	fmt.Fprintf(w, "messages in queue but not yet preprocessed: %d\n", s.Unprocessed)
}

// writeShow prints a message's envelope, per-recipient state and header.
func writeShow(w io.Writer, sh ctl.Shown) {
	m := sh.Message.Store()
	fmt.Fprintf(w, "message:  %d\n", m.ID)
	fmt.Fprintf(w, "arrival:  %s\n", m.Born.UTC().Format(qreadDate))
	fmt.Fprintf(w, "size:     %d bytes\n", m.Size)
	fmt.Fprintf(w, "sender:   <%s>\n", m.Sender)
	held := "no"
	if m.Held {
		held = "yes (no attempts until released)"
	}
	fmt.Fprintf(w, "held:     %s\n", held)
	fmt.Fprintf(w, "intake:   %s\n", describeIntake(m.Intake))
	fmt.Fprintln(w, "recipients:")
	for _, r := range m.Recipients {
		fmt.Fprintf(w, "  <%s>  %s, %d attempt%s", r.Addr, r.State, r.Attempts, plural(r.Attempts))
		if !r.State.Final() {
			if m.Held {
				fmt.Fprint(w, ", held")
			} else {
				fmt.Fprintf(w, ", next %s", r.NextAttempt.UTC().Format(qreadDate))
			}
		}
		fmt.Fprintln(w)
		if r.LastResult != "" {
			fmt.Fprintf(w, "    last result (%s): %s\n", r.LastAttempt.UTC().Format(qreadDate),
				strings.ReplaceAll(strings.TrimRight(r.LastResult, "\n"), "\n", "\n      "))
		}
	}
	fmt.Fprintln(w, "header:")
	for _, line := range strings.SplitAfter(sh.Header, "\n") {
		if line != "" {
			fmt.Fprint(w, "  ", strings.TrimRight(line, "\r\n"), "\n")
		}
	}
}

func describeIntake(in store.Intake) string {
	s := in.Protocol
	if in.UID >= 0 {
		s += fmt.Sprintf(" uid %d", in.UID)
	}
	if in.PID > 0 {
		s += fmt.Sprintf(" pid %d", in.PID)
	}
	for _, kv := range [][2]string{{"client", in.ClientAddr}, {"helo", in.HELO}, {"tls", in.TLS}, {"auth", in.Auth}} {
		if kv[1] != "" {
			s += " " + kv[0] + " " + kv[1]
		}
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
