package daemon

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/qsend/qsend/intake"
	"github.com/qsend/qsend/intake/maildrop"
	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/store"
)

// enqueue stores a message with received prepended and tells the scheduler.
// It is the one way messages enter the queue from outside. With sign, the
// message is DKIM-signed first (docs/dkim.md), once, so that every
// attempt and every bounce of it carries the same bytes.
func (d *Daemon) enqueue(ctx context.Context, m store.NewMessage, received string, body io.Reader, sign bool) (store.ID, error) {
	if l, ok := body.(interface{ Len() int }); ok {
		// A body held in memory (smtpd's, mostly): its size is known.
		m.SizeHint = len(received) + l.Len()
	}
	if sign {
		signed, err := d.dkim.Load().Sign(ctx, body, "")
		if err != nil {
			return 0, err
		}
		defer signed.Close()
		body = signed
	}
	msg, err := d.store.EnqueueMessage(ctx, m, io.MultiReader(strings.NewReader(received), body))
	if err != nil {
		return msg.ID, err
	}
	// The scheduler logs it and schedules its first attempt.
	d.sched.Enqueued(msg)
	return msg.ID, nil
}

// importer imports the maildrop at start, on every trigger and every
// importEvery, until ctx ends.
func (d *Daemon) importer(ctx context.Context) {
	tick := time.NewTicker(importEvery)
	defer tick.Stop()
	var waiting []chan struct{}
	for {
		d.importMaildrop(ctx)
		for _, w := range waiting {
			close(w)
		}
		waiting = waiting[:0]
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case w := <-d.imports:
			if w != nil {
				waiting = append(waiting, w)
			}
		}
	}
}

// requestImport asks for an import without waiting for it; requests that
// arrive while one runs are served by the next.
func (d *Daemon) requestImport() {
	select {
	case d.imports <- nil:
	default:
	}
}

// importNow imports the maildrop and returns when that is done.
func (d *Daemon) importNow(ctx context.Context) {
	w := make(chan struct{})
	select {
	case d.imports <- w:
	case <-ctx.Done():
		return
	}
	select {
	case <-w:
	case <-ctx.Done():
	}
}

// importMaildrop moves every complete maildrop file into the queue. Each
// import carries the file's name as its deduplication key, so a crash
// between the commit and the removal of the file cannot queue it twice.
func (d *Daemon) importMaildrop(ctx context.Context) {
	l := d.layout
	if n, err := maildrop.RemoveStale(l.Maildrop, staleTemp, time.Now()); err == nil && n > 0 {
		d.log.Warn("removed unfinished maildrop files", "count", n)
	}
	names, err := maildrop.Names(l.Maildrop)
	if err != nil {
		d.log.Error("reading the maildrop failed", "dir", l.Maildrop, "err", err)
		return
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		if err := d.importFile(ctx, name); err != nil {
			d.log.Error("maildrop import failed; will retry", "file", name, "err", err)
			return // most likely the queue cannot be written: try later
		}
	}
}

func (d *Daemon) importFile(ctx context.Context, name string) error {
	l := d.layout
	f, err := maildrop.Open(l.Maildrop, name)
	if errors.Is(err, maildrop.ErrBad) {
		d.log.Warn("maildrop file is not a valid submission; moved aside", "file", name, "to", l.Corrupt, "err", err)
		return maildrop.Quarantine(l.Maildrop, name, l.Corrupt)
	}
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	env := envelope.Envelope{Sender: f.Entry.Sender, Recipients: f.Entry.Recipients}
	if err := intake.Validate(env); err != nil {
		f.Close()
		d.log.Warn("maildrop file has an invalid envelope; moved aside", "file", name, "to", l.Corrupt, "err", err)
		return maildrop.Quarantine(l.Maildrop, name, l.Corrupt)
	}
	key := "maildrop:" + name
	m := store.NewMessage{
		Sender:     env.Sender,
		Recipients: env.Recipients,
		Born:       time.Now(), // qmail's birth is when qmail-send processes todo (qmail-send.c todo_do())
		Intake:     store.Intake{Protocol: "maildrop", UID: f.UID, PID: f.Entry.PID},
		DedupeKey:  key,
	}
	received := d.received(f.Entry.PID, f.UID, f.Time)
	sign := d.localSubmitter(f.UID)
	// A message imported from another queue (only root may import) keeps
	// its birth and its own trace lines, and its key stays (docs/install.md).
	imp := f.Entry.Import
	if imp != nil && f.UID == 0 {
		m.Born, m.DedupeKey, received = imp.Born, imp.Key, ""
		sign = false // signed, if at all, where it was submitted
		m.Intake = store.Intake{Protocol: imp.Protocol, UID: imp.UID, PID: f.Entry.PID}
	}
	_, err = d.enqueue(ctx, m, received, f.Body(), sign)
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		return err
	}
	if err := maildrop.Remove(l.Maildrop, name); err != nil {
		return err
	}
	if imp != nil && f.UID == 0 {
		return nil
	}
	return d.store.ForgetKey(key)
}
