package delivery

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/qsend/qsend/store"
)

// batchSize is how many schedule entries one walk of the index copies out.
const batchSize = 256

// storeRetry is how long the loop leaves a message alone after the store
// failed on it (qmail-send retries a bounce injection "later" the same
// way), and how soon it retries a failed walk of the schedule.
const storeRetry = time.Minute

// pump does everything due now and returns when the loop should look
// again without being woken (zero: only when woken).
//
// Finding work costs the completion entries at the head of the index plus
// the entries from where each usable channel's scan stopped: a channel
// without a transport, held (concurrency 0) or full is not scanned at all,
// and its position stays until it can take work again, so blocked mail
// costs nothing per event.
func (s *Scheduler) pump(ctx context.Context) time.Time {
	now := s.clock()
	var retryAt time.Time
	s.mu.Lock()
	for c := range s.from {
		if s.low[c] != maxKey {
			s.from[c] = minKey(s.from[c], s.low[c])
			s.low[c] = maxKey
			s.idle[c] = 0
		}
	}
	if !s.flushReq.IsZero() {
		for c := range s.flush {
			s.flush[c] = flushPass{active: true, start: s.flushReq}
		}
		s.flushReq = time.Time{}
	}
	for id, t := range s.later {
		if !t.After(now) {
			delete(s.later, id)
			// Where its entry is now is unknown: rescan from the start.
			s.from = [numChannels]key{}
			s.idle = [numChannels]int64{}
		} else {
			retryAt = earliest(retryAt, t)
		}
	}
	s.mu.Unlock()
	if t := s.revisits.due(now.UnixNano(), func(k key, c Channel) { s.from[c], s.idle[c] = minKey(s.from[c], k), 0 }); t != 0 {
		retryAt = earliest(retryAt, time.Unix(0, t))
	}

	s.completeAll(ctx, now)
	next := s.scanDue(ctx, now)
	s.scanFlush(ctx, now)
	return earliest(next, retryAt)
}

// earliest returns the earlier of two times, a zero time counting as none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// usable reports which channels can start a job now.
func (s *Scheduler) usable() (u [numChannels]bool, any bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return u, false
	}
	for _, c := range channels {
		u[c] = s.o.transport(c) != nil && s.inflight[c] < s.o.limit(c)
		any = any || u[c]
	}
	return u, any
}

// scanDue dispatches due entries for every usable channel, from the
// lowest position among them, until the entries are not due yet or no
// channel can take more. A channel whose scan found nothing more to do is
// skipped until its position is lowered or its next entry falls due. It
// returns when the loop should scan again unless woken.
func (s *Scheduler) scanDue(ctx context.Context, now time.Time) time.Time {
	nowN := now.UnixNano()
	// scan lists the channels to scan: usable and with work.
	scan := func() (u [numChannels]bool, any bool, wake int64) {
		usable, _ := s.usable()
		for _, c := range channels {
			switch {
			case !usable[c]:
			case s.idle[c] == 0 || s.idle[c] <= nowN:
				u[c], any = true, true
			case wake == 0 || s.idle[c] < wake:
				wake = s.idle[c]
			}
		}
		return u, any, wake
	}
batches:
	for ctx.Err() == nil {
		u, any, wake := scan()
		if !any {
			return wakeTime(wake)
		}
		// The batch starts at the lowest position of the channels scanned
		// now, and only they act on it, each only as long as it can take
		// work without a break: a channel that fills up keeps its position
		// and leaves the batch, and a channel that becomes usable while the
		// batch is handled waits for the next one. Either would otherwise
		// move past entries it never looked at.
		inBatch := u
		start := maxKey
		for _, c := range channels {
			if u[c] {
				start = minKey(start, s.from[c])
			}
		}
		batch, err := s.entries(start, batchSize, false)
		if err != nil {
			s.logger().Error("unable to read the schedule, will try again", "err", err)
			return now.Add(storeRetry)
		}
		for _, k := range batch {
			if k.at > nowN {
				for _, c := range channels {
					if inBatch[c] && !k.less(s.from[c]) {
						s.from[c], s.idle[c] = k, k.at
					}
				}
				_, _, wake = scan()
				return wakeTime(wake)
			}
			if u, any, _ = scan(); !any || ctx.Err() != nil {
				return time.Time{}
			}
			for _, c := range channels {
				inBatch[c] = inBatch[c] && u[c]
			}
			if inBatch == ([numChannels]bool{}) {
				continue batches // the channels that can work start a new batch
			}
			var relevant [numChannels]bool
			for _, c := range channels {
				relevant[c] = inBatch[c] && !k.less(s.from[c])
			}
			if relevant == ([numChannels]bool{}) {
				continue
			}
			waiting := s.dispatch(k.id, now, [numChannels]time.Time{})
			// k is handled for every channel it was looked at for: started,
			// already running, or not needing the channel yet.
			for _, c := range channels {
				if relevant[c] {
					s.from[c] = k.next()
					if waiting[c] != 0 {
						s.revisits.add(waiting[c], k, c)
					}
				}
			}
		}
		if len(batch) < batchSize {
			// The end of the schedule for the channels that went through
			// the whole batch: nothing more until something changes.
			for _, c := range channels {
				if inBatch[c] {
					s.idle[c] = math.MaxInt64
				}
			}
			return time.Time{}
		}
	}
	return time.Time{}
}

// wakeTime turns an idle time into the loop's wake-up time.
func wakeTime(at int64) time.Time {
	if at == 0 || at == math.MaxInt64 {
		return time.Time{}
	}
	return time.Unix(0, at)
}

// scanFlush continues FlushAll's pass for every usable channel: every
// entry, due or not, whose recipients were not attempted since the flush.
// A channel that cannot take work keeps its pass for later.
func (s *Scheduler) scanFlush(ctx context.Context, now time.Time) {
	for ctx.Err() == nil {
		u, _ := s.usable()
		var since [numChannels]time.Time
		start, any := maxKey, false
		for _, c := range channels {
			if s.flush[c].active {
				since[c] = s.flush[c].start
				if u[c] {
					start, any = minKey(start, s.flush[c].pos), true
				}
			}
		}
		if !any {
			return
		}
		batch, err := s.entries(start, batchSize, false)
		if err != nil {
			s.logger().Error("unable to read the schedule, will try again", "err", err)
			return
		}
		for _, k := range batch {
			if u, _ = s.usable(); ctx.Err() != nil {
				return
			}
			var relevant [numChannels]bool
			for _, c := range channels {
				if !s.flush[c].active {
					continue
				}
				// A full channel keeps its position until a job ends.
				relevant[c] = u[c] && !k.less(s.flush[c].pos)
			}
			if relevant == ([numChannels]bool{}) {
				if u == ([numChannels]bool{}) {
					return
				}
				continue
			}
			s.dispatch(k.id, now, since)
			for _, c := range channels {
				if relevant[c] {
					s.flush[c].pos = k.next()
				}
			}
		}
		if len(batch) < batchSize {
			// The end of the schedule: done for every channel that got there.
			end := start
			if len(batch) > 0 {
				end = batch[len(batch)-1].next()
			}
			for _, c := range channels {
				if s.flush[c].active && !s.flush[c].pos.less(end) {
					s.flush[c].active = false
				}
			}
			return
		}
	}
}

// completeAll completes every message due for completion: all its
// recipients final (qmail-send.c messdone()).
func (s *Scheduler) completeAll(ctx context.Context, now time.Time) {
	start := key{}
	for ctx.Err() == nil {
		batch, err := s.entries(start, batchSize, true)
		if err != nil {
			s.logger().Error("unable to read the schedule, will try again", "err", err)
			return
		}
		ids := make([]store.ID, 0, len(batch))
		s.mu.Lock()
		for _, k := range batch {
			if _, busy := s.flights[k.id]; !busy && s.later[k.id].IsZero() {
				ids = append(ids, k.id)
			}
		}
		s.mu.Unlock()
		full := len(batch) == batchSize
		if full {
			start = batch[len(batch)-1].next()
		}
		for _, id := range ids {
			if ctx.Err() != nil {
				return
			}
			s.complete(ctx, id, now)
		}
		if !full {
			return
		}
	}
}

// retryLater leaves message id alone for storeRetry after a store error.
func (s *Scheduler) retryLater(id store.ID, now time.Time) {
	s.mu.Lock()
	s.later[id] = now.Add(storeRetry)
	s.mu.Unlock()
}

// isGone reports whether err means the message no longer exists.
func isGone(err error) bool { return errors.Is(err, store.ErrNotFound) }
