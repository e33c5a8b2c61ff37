package delivery

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/qsend/qsend/internal/qmaillog"
	"github.com/qsend/qsend/store"
)

// job is a Job in flight with what the scheduler needs to finish it.
type job struct {
	Job
	ch      Channel
	tr      Transport
	numbers []int     // delivery number of each recipient, for the log
	start   time.Time // when the pass started (dispatch)
	dying   bool      // the pass is the message's last (qmail-send.c nextretry())
	warn    bool      // queue the message's delay warning first
}

// dispatch starts message id's due recipients, one job per channel whose
// transport can take one now. flushSince[c], when set, makes every
// recipient on c not attempted since then due as well (FlushAll). For
// each channel that has recipients left but none due, waiting[c] is the
// earliest of their next attempts (unix ns; 0 otherwise).
func (s *Scheduler) dispatch(id store.ID, now time.Time, flushSince [numChannels]time.Time) (waiting [numChannels]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping || s.flights[id] != nil || s.later[id].After(now) {
		return waiting
	}
	s.examined++
	m, err := s.st.Get(id)
	if err != nil {
		if !isGone(err) {
			s.o.Logger.Warn("unable to read message, will try again later", "id", id, "err", err)
			s.later[id] = now.Add(storeRetry)
		}
		return waiting
	}
	if m.Held {
		return waiting
	}
	var due [numChannels][]int
	for i, r := range m.Recipients {
		if r.State.Final() {
			continue
		}
		c := s.o.route(r.Addr)
		flushed := !flushSince[c].IsZero() && r.LastAttempt.Before(flushSince[c])
		if !r.NextAttempt.After(now) || flushed {
			due[c] = append(due[c], i)
		} else if t := r.NextAttempt.UnixNano(); waiting[c] == 0 || t < waiting[c] {
			waiting[c] = t
		}
	}
	for _, c := range channels {
		if len(due[c]) > 0 {
			waiting[c] = 0
		}
	}
	// qmail-send.c nextretry(): dying is decided when the pass starts.
	dying := now.After(m.Born.Add(s.o.QueueLifetime))
	// Decided here, when the message is read anyway, so a warning costs
	// no scan of its own; the first job started queues it.
	warn := s.o.DelayWarning > 0 && !m.Warned && !dying && now.Sub(m.Born) >= s.o.DelayWarning
	started := false
	for _, c := range channels {
		tr := s.o.transport(c)
		if len(due[c]) == 0 || tr == nil || s.inflight[c] >= s.o.limit(c) {
			continue
		}
		j := &job{
			Job:   Job{Msg: m, Rcpts: due[c], Body: func() (io.ReadCloser, error) { return s.st.Body(id) }},
			ch:    c,
			tr:    tr,
			start: now,
			dying: dying,
			warn:  warn,
		}
		warn = false
		for _, i := range due[c] {
			s.deliveries++
			j.numbers = append(j.numbers, s.deliveries)
			qmaillog.LogStarting(s.o.Logger, s.deliveries, id, c.String(), m.Recipients[i].Addr)
		}
		s.inflight[c]++
		f := s.flights[id]
		if f == nil {
			f = &flight{}
			s.flights[id] = f
		}
		f.jobs++
		s.jobs.Add(1)
		go s.run(s.jobCtx, j)
		started = true
	}
	if started {
		s.logStatusLocked()
	}
	return waiting
}

// run delivers one job and finishes it. It is one of the goroutines Run
// waits for.
func (s *Scheduler) run(ctx context.Context, j *job) {
	defer s.jobs.Done()
	if j.warn {
		s.delayWarning(ctx, j.Msg, j.start)
	}
	s.finish(ctx, j, s.deliver(ctx, j))
}

// deliver calls the transport, turning a panic into a deferral of the
// whole job so one bad attempt cannot take the queue down.
func (s *Scheduler) deliver(ctx context.Context, j *job) (results []store.Result) {
	defer func() {
		if p := recover(); p != nil {
			s.logger().Error("delivery transport crashed", "id", j.Msg.ID, "channel", j.ch.String(), "panic", fmt.Sprint(p))
			results = nil
		}
	}()
	return j.tr.Deliver(ctx, j.Job)
}

// finish records a job's results, then logs them, then acts on them:
// durable first (qmail-send.c markdone() before anything else).
func (s *Scheduler) finish(ctx context.Context, j *job, results []store.Result) {
	s.mu.Lock()
	now, retry, holdTLS := s.o.Now(), s.o.Retry, !s.o.BounceTLSOnExpiry
	s.mu.Unlock()
	holding := false
	res := make([]store.Result, len(j.Rcpts))
	for i, idx := range j.Rcpts {
		rc := j.Msg.Recipients[idx]
		r := store.Result{State: store.Deferred, Text: noResultText}
		if i < len(results) {
			r.State, r.Text = results[i].State, results[i].Text
			r.NotAttempted, r.Next = results[i].NotAttempted, results[i].Next
			r.TLSPolicy = results[i].TLSPolicy
		}
		if r.State != store.Delivered && r.State != store.Failed {
			r.State = store.Deferred
		}
		if r.State != store.Deferred {
			r.NotAttempted, r.TLSPolicy = false, false
		}
		if r.State == store.Deferred && j.dying && holdTLS && (r.TLSPolicy || r.NotAttempted && rc.TLSPolicy) {
			// tls.on_expiry hold: a TLS policy failure in the last pass
			// holds the message for the operator instead of bouncing it
			// (docs/tls.md; a deliberate difference from qmail, docs/qmail.md).
			holding = true
			r.Index, r.At, r.Next = idx, now, now // due as soon as it is released
			res[i] = r
			continue
		}
		if r.State == store.Deferred && j.dying {
			// qmail-send.c nextretry(): in the last pass a deferral is a
			// failure, with the reason added on a line of its own. A wait
			// that was no attempt fails with the last attempt's reason.
			if r.NotAttempted && r.Text == "" {
				r.Text = rc.LastResult
			}
			r.State, r.Text, r.NotAttempted = store.Failed, appendLine(r.Text, dyingText), false
		}
		r.Index, r.At = idx, now
		if r.State == store.Deferred && (!r.NotAttempted || r.Next.IsZero()) {
			// A transport's own Next counts only for a wait (a backed-off
			// destination knows when it is worth trying again).
			n := rc.Attempts + 1
			if r.NotAttempted {
				n = max(rc.Attempts, 1)
			}
			r.Next = retry(Deferral{Channel: j.ch, Born: j.Msg.Born, Start: j.start, End: now, N: n})
		}
		res[i] = r
	}
	id := j.Msg.ID
	m, err := s.st.Record(id, res)
	l := s.logger()
	if err != nil {
		// Nothing was recorded: the recipients stay due, as after a crash.
		if isGone(err) {
			l.Warn("message vanished during delivery, results dropped", "id", id, "err", err)
		} else {
			l.Error("unable to record delivery results, will try again later", "id", id, "err", err)
			s.retryLater(id, now)
		}
	} else {
		for i, r := range res {
			qmaillog.LogDelivery(l, j.numbers[i], r.State, r.Text)
		}
	}

	s.mu.Lock()
	s.inflight[j.ch]--
	f := s.flights[id]
	f.jobs--
	if holding && err == nil {
		l.Warn("message held: its queue lifetime ended while its TLS policy could not be met; release it after fixing the cause", "id", id)
		s.tlsHeld++
		f.hold = true
	}
	completing := false
	if f.jobs == 0 {
		if _, pending := entryKey(m); err == nil && !pending && !f.waiting() {
			// Complete it here, in parallel with other jobs, so the deletes
			// share commits; the flight keeps the loop away meanwhile.
			completing = true
		} else {
			delete(s.flights, id)
			if err == nil || !isGone(err) {
				m.ID = id
				s.afterFlightLocked(m, err == nil, f, now)
			}
		}
	}
	s.logStatusLocked()
	s.mu.Unlock()
	if completing {
		s.complete(ctx, id, now)
		s.mu.Lock()
		delete(s.flights, id)
		if f.waiting() {
			if m, err := s.st.Get(id); err == nil {
				s.afterFlightLocked(m, true, f, now)
			}
		}
		s.mu.Unlock()
	}
	s.poke()
}

// afterFlightLocked carries out the control requests that waited for a
// message's jobs to end, and tells the loop where its entry went; known
// is false when m is only the id because the results were not recorded.
func (s *Scheduler) afterFlightLocked(m store.Message, known bool, f *flight, now time.Time) {
	id := m.ID
	switch {
	case f.del:
		s.deleteLocked(id)
		return
	case f.bounce:
		if _, err := GiveUp(s.st, id, now); err != nil {
			s.o.Logger.Error("unable to give up on message", "id", id, "err", err)
		}
		return
	case f.hold:
		if err := s.st.SetHeld(id, true); err != nil {
			s.o.Logger.Error("unable to hold message", "id", id, "err", err)
		}
		return
	case f.flush:
		if err := s.st.Reschedule(id, now); err != nil {
			s.o.Logger.Error("unable to flush message", "id", id, "err", err)
		} else if m2, err := s.st.Get(id); err == nil {
			m, known = m2, true
		}
	}
	if known {
		s.noteChangedLocked(m)
	}
}
