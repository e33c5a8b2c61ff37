package store

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// mutate loads message id, lets fn change it, and stores it with its
// schedule entry and counters, in a batched transaction that is fsynced
// before mutate returns. fn returning an error (a refused request) writes
// nothing. fn must only change the record it is given: Batch may run it
// more than once.
func (s *Store) mutate(op string, id ID, fn func(r *record) error) (*record, error) {
	var out *record
	var refused error
	err := s.db.Batch(func(tx *bolt.Tx) error {
		out, refused = nil, nil
		r, err := loadRecord(tx, id)
		if err != nil {
			refused = err
			return nil
		}
		before := r.contribution()
		if err := fn(r); err != nil {
			refused = err
			return nil
		}
		if err := updateSched(tx, r); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMsg).Put(idKey(id), encodeRecord(r)); err != nil {
			return err
		}
		if err := addStats(tx, r.contribution().add(before.neg())); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return nil, s.ioError(fmt.Sprintf("%s message %d", op, id), err)
	}
	if refused != nil {
		return nil, fmt.Errorf("store: %s: %w", op, refused)
	}
	return out, nil
}

// Record applies the results of delivery attempts to message id's
// recipients and returns the updated message. Each result counts an
// attempt and sets the recipient's state, last result text and last
// attempt time, and for Deferred its next attempt time (a zero Next means
// due at once); a NotAttempted result sets only the next attempt time and
// a non-empty text. The change is durable before Record returns: a recipient
// result is on disk before anything acts on it (qmail-send.c
// markdone() before the next step). A result for a recipient out of range,
// already final, or given twice, or with a state other than Deferred,
// Delivered or Failed, is refused with ErrInvalid and nothing is written.
func (s *Store) Record(id ID, results []Result) (Message, error) {
	r, err := s.mutate("record", id, func(r *record) error {
		seen := make(map[int]bool, len(results))
		for _, res := range results {
			if res.Index < 0 || res.Index >= len(r.Recipients) {
				return fmt.Errorf("message %d: result for recipient %d of %d: %w", id, res.Index, len(r.Recipients), ErrInvalid)
			}
			if seen[res.Index] {
				return fmt.Errorf("message %d: two results for recipient %d: %w", id, res.Index, ErrInvalid)
			}
			seen[res.Index] = true
			if st := r.Recipients[res.Index].State; st.Final() {
				return fmt.Errorf("message %d: recipient %d is already %s: %w", id, res.Index, st, ErrInvalid)
			}
			if res.State != Deferred && !res.State.Final() {
				return fmt.Errorf("message %d: result state %s for recipient %d: %w", id, res.State, res.Index, ErrInvalid)
			}
			if res.NotAttempted && res.State != Deferred {
				return fmt.Errorf("message %d: recipient %d: a %s result cannot be one not attempted: %w", id, res.Index, res.State, ErrInvalid)
			}
		}
		for _, res := range results {
			rc := &r.Recipients[res.Index]
			if res.NotAttempted {
				// A wait, not an attempt: the recipient keeps its count.
				rc.State = Deferred
				rc.NextAttempt = res.Next.Round(0)
				if res.Text != "" {
					rc.LastResult = res.Text
				}
				continue
			}
			rc.State = res.State
			rc.LastResult = res.Text
			rc.TLSPolicy = res.TLSPolicy && res.State == Deferred
			rc.LastAttempt = res.At.Round(0)
			rc.Attempts++
			if res.State == Deferred {
				rc.NextAttempt = res.Next.Round(0)
			}
		}
		return nil
	})
	if err != nil {
		return Message{}, err
	}
	return r.Message, nil
}

// Reschedule makes every non-final recipient of message id due at at
// (`queue flush ID`). A held message stays held.
func (s *Store) Reschedule(id ID, at time.Time) error {
	_, err := s.mutate("reschedule", id, func(r *record) error {
		for i := range r.Recipients {
			if !r.Recipients[i].State.Final() {
				r.Recipients[i].NextAttempt = at.Round(0)
			}
		}
		return nil
	})
	return err
}

// SetHeld holds or releases message id. A held message has no schedule
// entry, so it is neither attempted nor expired; releasing it puts it back
// where its recipients' next attempt times say.
func (s *Store) SetHeld(id ID, held bool) error {
	_, err := s.mutate("hold", id, func(r *record) error {
		r.Held = held
		return nil
	})
	return err
}

// Delete removes message id: metadata, body, schedule entry and the dedupe
// keys naming it. A record that does not decode is removed too, with what
// names it, and the counters are recounted, so a damaged message can
// always be cleared.
func (s *Store) Delete(id ID) error {
	var refused error
	damaged := false
	err := s.db.Batch(func(tx *bolt.Tx) error {
		refused, damaged = nil, false
		r, err := loadRecord(tx, id)
		if errors.Is(err, ErrCorrupt) {
			damaged = true
			if err := removeDamaged(tx, id, false); err != nil {
				return err
			}
			return recount(tx)
		}
		if err != nil {
			refused = err
			return nil
		}
		if r.scheduled {
			if err := tx.Bucket(bucketSched).Delete(schedKey(r.sched, id)); err != nil {
				return err
			}
		}
		d := tx.Bucket(bucketDedupe)
		for _, k := range r.keys {
			// The key may have been forgotten and reused since.
			if v := d.Get([]byte(k)); v != nil && idFromKey(v) == id {
				if err := d.Delete([]byte(k)); err != nil {
					return err
				}
			}
		}
		if err := deleteBody(tx, id); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMsg).Delete(idKey(id)); err != nil {
			return err
		}
		return addStats(tx, r.contribution().neg())
	})
	if err != nil {
		return s.ioError(fmt.Sprintf("delete message %d", id), err)
	}
	if refused != nil {
		return fmt.Errorf("store: delete: %w", refused)
	}
	if damaged {
		s.log.Warn("undecodable message record deleted", "id", id, "store", s.path)
	}
	return nil
}

// ForgetKey removes a dedupe key, so a later Enqueue with it stores a new
// message. An unknown key is not an error.
func (s *Store) ForgetKey(key string) error {
	if key == "" || len(key) > maxDedupeKey {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		d := tx.Bucket(bucketDedupe)
		v := d.Get([]byte(key))
		if v == nil {
			return nil
		}
		id := idFromKey(v)
		if err := d.Delete([]byte(key)); err != nil {
			return err
		}
		// Drop the reverse reference from the message, if it still exists.
		r, err := loadRecord(tx, id)
		if errors.Is(err, ErrNotFound) {
			return nil // a key naming a missing message is gone now too
		}
		if err != nil {
			return err
		}
		keys := r.keys[:0]
		for _, k := range r.keys {
			if k != key {
				keys = append(keys, k)
			}
		}
		r.keys = keys
		return tx.Bucket(bucketMsg).Put(idKey(id), encodeRecord(r))
	})
	if err != nil {
		return s.ioError("forget key "+fmt.Sprintf("%q", key), err)
	}
	return nil
}
