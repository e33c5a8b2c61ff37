package delivery

import (
	"context"
	"errors"

	"time"

	"github.com/qsend/qsend/delivery/bounce"
	"github.com/qsend/qsend/store"
)

// delayWarning queues the delay warning about m, whose recipients that
// are not final are still being tried. The warning carries m's id in
// WarnedOf and a dedupe key, so the store sets m's Warned flag in the
// commit that queues it: one warning per message, across restarts. A
// store error leaves the flag unset, and the next pass tries again.
func (s *Scheduler) delayWarning(ctx context.Context, m store.Message, now time.Time) {
	s.mu.Lock()
	l, settings := s.o.Logger, s.o.Bounce
	s.mu.Unlock()
	var waiting []store.Recipient
	for _, r := range m.Recipients {
		if !r.State.Final() {
			waiting = append(waiting, r)
		}
	}
	body, err := s.st.Body(m.ID)
	if err != nil {
		l.Warn("unable to read message for its delay warning, will try later", "id", m.ID, "err", err)
		return
	}
	defer body.Close()
	nm, r, ok := bounce.ComposeDelay(settings, m, waiting, body, now, s.pid)
	if !ok {
		return
	}
	wid, err := s.st.Enqueue(ctx, nm, r)
	if errors.Is(err, store.ErrDuplicate) {
		return // queued before a restart; the flag is set now
	}
	if err != nil {
		l.Warn("trouble injecting delay warning, will try later", "id", m.ID, "err", err)
		return
	}
	l.Info("delay warning queued", "id", m.ID, "warning", wid)
	if wm, err := s.st.Get(wid); err == nil {
		s.Enqueued(wm)
	}
}
