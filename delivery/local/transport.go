package local

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/store"
)

// Transport delivers to this host. It is safe for concurrent use; the
// scheduler bounds the jobs in flight (concurrencylocal).
type Transport struct {
	o       Options
	def     *method
	domains map[string]*method
	host    string // host part of Maildir file names
	pid     int
	seq     atomic.Uint64 // Q part of Maildir file names
	root    bool          // files and directories are chowned to the Maildir's owner
}

// New validates o (methods, templates: an unknown placeholder is an error
// naming it) and returns a Transport.
func New(o Options) (*Transport, error) {
	o = o.withDefaults()
	t := &Transport{o: o, domains: make(map[string]*method, len(o.Domains)), pid: os.Getpid(), root: os.Geteuid() == 0}
	var err error
	if t.def, err = compile(o.Default, "local.transport"); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(o.Domains))
	for d := range o.Domains {
		names = append(names, d)
	}
	sort.Strings(names) // the first error is the same every time
	for _, d := range names {
		m, err := compile(o.Domains[d], "local.domains "+d)
		if err != nil {
			return nil, err
		}
		t.domains[strings.ToLower(d)] = m
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = o.Me
	}
	if host == "" {
		host = "localhost"
	}
	t.host = maildirHost(host)
	return t, nil
}

// outcome is the result of one recipient's delivery.
type outcome struct {
	state store.RcptState
	text  string
}

func delivered(text string) outcome { return outcome{store.Delivered, lineEnd(text)} }
func deferred(text string) outcome  { return outcome{store.Deferred, lineEnd(text)} }
func failed(text string) outcome    { return outcome{store.Failed, lineEnd(text)} }

// lineEnd ends text with LF, as qmail-lspawn's reports do.
func lineEnd(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// rcpt is one recipient of a job on its way through Deliver.
type rcpt struct {
	pos int // position in job.Rcpts and in the results
	v   *vars
	m   *method
}

// Deliver implements delivery.Transport: each recipient is delivered by the
// method of its domain, maildir and command recipients one after another,
// LMTP recipients that share a server in one transaction.
func (t *Transport) Deliver(ctx context.Context, job delivery.Job) []store.Result {
	out := make([]outcome, len(job.Rcpts))
	seen, err := deliveredTo(job.Body)
	var lmtp []rcpt
	var sp spool
	defer sp.close()
	for i, idx := range job.Rcpts {
		addr := job.Msg.Recipients[idx].Addr
		if t.o.Rewrite != nil {
			_, addr = t.o.Rewrite.Rewrite(addr)
		}
		r := rcpt{pos: i, v: newVars(addr, job.Msg.Sender)}
		r.m = t.methodFor(r.v.domain)
		switch {
		case err != nil:
			out[i] = deferred(textUnreadable + "\n" + err.Error())
		case ctx.Err() != nil:
			out[i] = deferred(textInterrupted)
		case seen[strings.ToLower(addr)]:
			// qmail-local checks its Delivered-To line before any
			// delivery (qmail-local.c; qmail-lspawn.c report() for the report).
			out[i] = failed(textLoop)
		case r.m.kind == KindMaildir:
			out[i] = t.deliverMaildir(ctx, job, r.m, r.v)
		case r.m.kind == KindCommand:
			out[i] = t.deliverCommand(ctx, job, &sp, r.m, r.v)
		case r.m.kind == KindLMTP:
			lmtp = append(lmtp, r)
		}
	}
	if len(lmtp) > 0 {
		t.deliverLMTP(ctx, job, &sp, lmtp, out)
	}
	now := t.o.Now()
	results := make([]store.Result, len(job.Rcpts))
	for i, idx := range job.Rcpts {
		o := out[i]
		if o.state == store.Pending {
			o = deferred(textInterrupted)
		}
		results[i] = store.Result{Index: idx, State: o.state, Text: o.text, At: now}
		t.o.Logger.Debug("local delivery", "msg", job.Msg.ID, "rcpt", job.Msg.Recipients[idx].Addr, "state", o.state.String(), "text", o.text)
	}
	return results
}

// methodFor returns the method of a recipient domain.
func (t *Transport) methodFor(domain string) *method {
	if m, ok := t.domains[domain]; ok {
		return m
	}
	return t.def
}

// dtLine and rpLine are the lines qmail-local prepends: Delivered-To with
// the address being delivered, Return-Path with the envelope sender, LF in
// either turned into '_'.
func dtLine(v *vars) string {
	return "Delivered-To: " + strings.ReplaceAll(v.addr, "\n", "_") + "\n"
}

func rpLine(v *vars) string {
	return "Return-Path: <" + strings.ReplaceAll(v.sender, "\n", "_") + ">\n"
}

// errorText is a temporary failure's text with the system error that
// caused it on a second line, so that an operator sees exactly why.
func errorText(text string, err error) string {
	return text + "\n" + fmt.Sprint(err)
}
