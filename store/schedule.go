package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// wantSched applies the schedule rules to a message: one whose recipients
// are all final is due "for completion" at time 0, which sorts first, so
// the scheduler queues the bounce it owes, if any, and deletes it; this
// holds even for a held message, since nothing is left to hold. Otherwise a
// held message has no entry, and one with a recipient not yet final is due
// at the earliest NextAttempt of those recipients.
func (r *record) wantSched() (at int64, ok bool) {
	found := false
	for _, rc := range r.Recipients {
		if rc.State.Final() {
			continue
		}
		// A pending time of 0 (or before 1970) would read as "complete";
		// 1 ns keeps it first among real times instead.
		n := max(toNanos(rc.NextAttempt), 1)
		if !found || n < at {
			at, found = n, true
		}
	}
	if found && r.Held {
		return 0, false
	}
	return at, true
}

// updateSched moves r's schedule entry to where the rules put it now and
// records the new key in r; the caller then stores r in the same
// transaction.
func updateSched(tx *bolt.Tx, r *record) error {
	at, ok := r.wantSched()
	if r.scheduled == ok && (!ok || r.sched == at) {
		return nil
	}
	b := tx.Bucket(bucketSched)
	if r.scheduled {
		if err := b.Delete(schedKey(r.sched, r.ID)); err != nil {
			return err
		}
	}
	r.scheduled, r.sched = ok, 0
	if ok {
		r.sched = at
		return b.Put(schedKey(at, r.ID), nil)
	}
	return nil
}

// ScanSchedule calls fn for each schedule entry in (time, id) order,
// starting with the earliest, until fn returns false. The time is the zero
// time for a message whose recipients are all final; held messages that
// still have work have no entry.
//
// The whole walk runs in one read transaction, which blocks growth of the
// file's memory map for writers while it lasts: fn must be quick (copy
// the entry into a heap or a slice and return), never wait for I/O or for
// other calls to the store.
func (s *Store) ScanSchedule(fn func(at time.Time, id ID) bool) error {
	return s.ScanScheduleFrom(time.Time{}, 0, fn)
}

// ScanScheduleFrom is ScanSchedule starting at the first entry at or after
// (at, id), found in O(log n); the zero time starts at the head.
func (s *Store) ScanScheduleFrom(at time.Time, id ID, fn func(at time.Time, id ID) bool) error {
	// A panic in fn is the caller's and is passed on as it is; one in
	// bbolt means a damaged page and becomes an error.
	var fnPanic any
	call := func(at time.Time, id ID) (more bool) {
		defer func() {
			if p := recover(); p != nil {
				fnPanic, more = p, false
			}
		}()
		return fn(at, id)
	}
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSched).Cursor()
		for k, _ := c.Seek(schedKey(toNanos(at), id)); k != nil; k, _ = c.Next() {
			at, id, ok := parseSchedKey(k)
			if !ok {
				return errBadSchedKey(k)
			}
			if !call(schedTime(at), id) {
				return nil
			}
		}
		return nil
	})
	if fnPanic != nil {
		panic(fnPanic)
	}
	if err != nil {
		return s.ioError("scan schedule", err)
	}
	return nil
}

// NextDue returns the first schedule entry: the message due soonest, or
// one due for completion (zero time). ok is false when the schedule is
// empty.
func (s *Store) NextDue() (at time.Time, id ID, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketSched).Cursor().First()
		if k == nil {
			return nil
		}
		n, i, good := parseSchedKey(k)
		if !good {
			return errBadSchedKey(k)
		}
		at, id, ok = schedTime(n), i, true
		return nil
	})
	if err != nil {
		return time.Time{}, 0, false, s.ioError("next due", err)
	}
	return at, id, ok, nil
}
