package delivery

import (
	"errors"
	"fmt"
	"time"

	"github.com/qsend/qsend/internal/qmaillog"
	"github.com/qsend/qsend/store"
)

// The control calls below act at once on a message that is not being
// delivered. On a message with a job in flight they wait for the job: they
// return nil at once, the job's results are recorded first, and then the
// request is carried out (Delete wins over Bounce, Bounce over Hold, Hold
// over Flush). An unknown id gives an error wrapping store.ErrNotFound.

// FlushAll makes everything queued due now (SIGALRM, `qsend queue flush`):
// every recipient not attempted since the call is tried once more, and
// the retry after that follows the formula from the message's birth
// (qmail-send.8, SIGALRM). The store is not rewritten: the pass over
// the queue happens as each channel has room, and a channel without a
// transport or held keeps it for when it can deliver.
func (s *Scheduler) FlushAll() {
	s.resetBackoff(0)
	s.mu.Lock()
	s.flushReq = s.o.Now()
	s.mu.Unlock()
	s.poke()
}

// Flush makes the named messages due now (`qsend queue flush ID...`). It
// goes on after an error and returns all of them.
func (s *Scheduler) Flush(ids ...store.ID) error {
	var errs []error
	for _, id := range ids {
		s.resetBackoff(id)
		errs = append(errs, s.control(id, func(f *flight) { f.flush = true }, func(now time.Time) error {
			if err := s.st.Reschedule(id, now); err != nil {
				return err
			}
			return s.noteIDLocked(id)
		}))
	}
	return errors.Join(errs...)
}

// Hold stops delivery of message id until Release; a held message is
// neither attempted nor expired.
func (s *Scheduler) Hold(id store.ID) error {
	return s.control(id, func(f *flight) { f.hold = true }, func(time.Time) error {
		return s.st.SetHeld(id, true)
	})
}

// Release undoes Hold. On a message in flight it cancels a Hold that
// waits for the job.
func (s *Scheduler) Release(id store.ID) error {
	return s.control(id, func(f *flight) { f.hold = false }, func(time.Time) error {
		if err := s.st.SetHeld(id, false); err != nil {
			return err
		}
		return s.noteIDLocked(id)
	})
}

// Delete removes message id from the queue without a bounce, logging
// "end msg" so log tools see it leave.
func (s *Scheduler) Delete(id store.ID) error {
	return s.control(id, func(f *flight) { f.del = true }, func(time.Time) error {
		return s.deleteLocked(id)
	})
}

// Bounce gives up on message id now: every recipient not final fails
// with the postmaster's text (see GiveUp), and the message completes with
// its bounce.
func (s *Scheduler) Bounce(id store.ID) error {
	return s.control(id, func(f *flight) { f.bounce = true }, func(now time.Time) error {
		_, err := GiveUp(s.st, id, now)
		return err
	})
}

// control runs a control request: wait on a flight, or act now.
func (s *Scheduler) control(id store.ID, wait func(*flight), act func(now time.Time) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.flights[id]; f != nil {
		wait(f)
		return nil
	}
	if err := act(s.o.Now()); err != nil {
		return err
	}
	s.poke()
	return nil
}

// noteIDLocked reads message id and tells the loop where its entry is.
func (s *Scheduler) noteIDLocked(id store.ID) error {
	m, err := s.st.Get(id)
	if err != nil {
		return err
	}
	s.noteChangedLocked(m)
	return nil
}

// deleteLocked deletes message id and logs its end.
func (s *Scheduler) deleteLocked(id store.ID) error {
	if err := s.st.Delete(id); err != nil {
		s.o.Logger.Warn("unable to delete message", "id", id, "err", err)
		return err
	}
	s.o.Logger.Info("message deleted by request", "id", id)
	qmaillog.LogEnd(s.o.Logger, id)
	return nil
}

// GiveUp marks every recipient of message id that is not final Failed,
// with its last result and a line saying the postmaster cancelled
// delivery, in one transaction, so its completion (the bounce, then
// deletion) comes next: the store puts a message whose recipients are all
// final at the head of the schedule, held or not. It is Scheduler.Bounce's
// work, and what `qsend queue bounce` does to the file when the daemon is
// not running.
func GiveUp(st *store.Store, id store.ID, now time.Time) (store.Message, error) {
	m, err := st.Get(id)
	if err != nil {
		return store.Message{}, err
	}
	var res []store.Result
	for i, r := range m.Recipients {
		if !r.State.Final() {
			res = append(res, store.Result{Index: i, State: store.Failed, Text: appendLine(r.LastResult, giveUpText), At: now})
		}
	}
	if len(res) > 0 {
		if m, err = st.Record(id, res); err != nil {
			return store.Message{}, fmt.Errorf("giving up on message %d: %w", id, err)
		}
	}
	// A held message whose recipients are all final is due for completion
	// (the store's schedule rules), so it bounces without a release.
	return m, nil
}
