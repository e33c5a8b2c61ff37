package delivery

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/qsend/qsend/delivery/bounce"
	"github.com/qsend/qsend/internal/qmaillog"
	"github.com/qsend/qsend/store"
)

// complete finishes a message whose recipients are all final
// (qmail-send.c messdone(), injectbounce()): it queues the bounce owed for
// failed recipients, then deletes the message, then announces the bounce.
// The bounce carries the dedupe key of the message, so if qsend stops
// between queuing it and deleting the message, the next run finds it
// queued and does not bounce twice. A store error leaves the message for
// a later try, as qmail-send retries a bounce it could not inject.
func (s *Scheduler) complete(ctx context.Context, id store.ID, now time.Time) {
	m, err := s.st.Get(id)
	if err != nil {
		if !isGone(err) {
			s.logger().Warn("unable to read message, will try again later", "id", id, "err", err)
			s.retryLater(id, now)
		}
		return
	}
	// A held message whose recipients are all final completes too: nothing
	// is left to hold (the store schedules it for completion).
	if _, pending := entryKey(m); pending {
		return // changed since the walk
	}
	s.mu.Lock()
	l, settings := s.o.Logger, s.o.Bounce
	s.mu.Unlock()

	var failed []store.Recipient
	for _, r := range m.Recipients {
		if r.State == store.Failed {
			failed = append(failed, r)
		}
	}
	var bounceID store.ID
	if len(failed) > 0 {
		var ok bool
		if bounceID, ok = s.queueBounce(ctx, l, settings, m, failed, now); !ok {
			s.retryLater(id, now)
			return
		}
	}
	if err := s.st.Delete(id); err != nil && !isGone(err) {
		l.Warn("unable to remove finished message, will try again later", "id", id, "err", err)
		s.retryLater(id, now)
		return
	}
	qmaillog.LogEnd(l, id)
	if bounceID != 0 {
		if bm, err := s.st.Get(bounceID); err == nil {
			s.Enqueued(bm)
		}
	}
}

// queueBounce queues m's bounce, or discards a bounce that cannot be
// delivered, logging as qmail-send's injectbounce does. It returns the
// bounce's id (0 when discarded) and false after an error.
func (s *Scheduler) queueBounce(ctx context.Context, l *slog.Logger, settings BounceSettings, m store.Message, failed []store.Recipient, now time.Time) (store.ID, bool) {
	body, err := s.st.Body(m.ID)
	if err != nil {
		l.Warn("trouble injecting bounce message, will try later", "id", m.ID, "err", err)
		return 0, false
	}
	defer body.Close()
	nm, r, kind := bounce.Compose(settings, m, failed, body, now, s.pid)
	switch kind {
	case bounce.Discard:
		qmaillog.LogTripleBounce(l, m.ID)
		return 0, true
	case bounce.DiscardDouble:
		qmaillog.LogDoubleBounceDiscard(l, m.ID)
		return 0, true
	}
	bid, err := s.st.Enqueue(ctx, nm, r)
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		// qmail-send.c injectbounce's words.
		l.Warn("trouble injecting bounce message, will try later", "id", m.ID, "err", err)
		return 0, false
	}
	qmaillog.LogBounce(l, m.ID, s.pid)
	return bid, true
}
