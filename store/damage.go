package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// bucketQuarantine keeps what Repair moved aside, for a person to look at:
// its "msg" bucket holds message records under their keys, its "body"
// bucket body chunks under theirs. Nothing in qsend reads it back.
var (
	bucketQuarantine = []byte("quarantine")
	quarantineOf     = map[string][]byte{string(bucketMsg): []byte("msg"), string(bucketBody): []byte("body")}
)

// What Repair says it did, in Problem.Repaired.
const (
	movedAside        = "moved to the quarantine bucket"
	quarantined       = "moved with its body to the quarantine bucket"
	rescheduled       = "schedule entry rewritten"
	entryRemoved      = "entry removed"
	keyRemoved        = "key removed"
	countersRewritten = "counters rewritten"
)

// DamageError is the error of a walk that skipped records it could not
// decode. It wraps ErrCorrupt.
type DamageError struct {
	Path    string
	Damaged []Problem
}

// Error names every skipped record, one line each.
func (e *DamageError) Error() string {
	lines := make([]string, len(e.Damaged))
	for i, p := range e.Damaged {
		lines[i] = p.Text + ": skipped"
	}
	return fmt.Sprintf("store %s: damaged records (%d):\n%s", e.Path, len(e.Damaged), strings.Join(lines, "\n"))
}

// Unwrap makes the error match ErrCorrupt.
func (e *DamageError) Unwrap() error { return ErrCorrupt }

// WalkAll is Walk that goes on past records it cannot decode: it calls fn
// for every message that decodes, then returns a *DamageError naming the
// others, if there were any.
func (s *Store) WalkAll(fn func(Message) error) error {
	var damaged []Problem
	if err := s.walk(fn, &damaged); err != nil {
		return err
	}
	if len(damaged) > 0 {
		return &DamageError{Path: s.path, Damaged: damaged}
	}
	return nil
}

// MetaProblems reports the meta pages Open found damaged: bbolt opens a
// file with one good meta page without a word, so nothing else would.
func (s *Store) MetaProblems() []Problem { return s.meta.Load().problems() }

// QuickCheck is the check for a daemon's start: the meta pages as Open
// found them, and a decode of every message record (metadata only, no
// bodies: about 7 µs a message). It stops with ctx's error when ctx ends;
// any other error is for a check that could not run.
func (s *Store) QuickCheck(ctx context.Context) ([]Problem, error) {
	problems := s.MetaProblems()
	err := s.WalkAll(func(Message) error { return ctx.Err() })
	var de *DamageError
	if errors.As(err, &de) {
		return append(problems, de.Damaged...), nil
	}
	return problems, err
}

// Repair runs the checks of Check in a write transaction and repairs what
// can be repaired without guessing: an undecodable record is moved, with
// its body, into the quarantine bucket, and the schedule entries, dedupe
// keys and partial mark naming it are removed; schedule entries are put
// where the rules say; stray entries, keys and chunks are removed or moved
// aside; the counters are recounted; a damaged meta page is rewritten,
// first. Broken bbolt pages and incomplete bodies are only reported. It
// returns every problem found, Repaired saying what was done; a second
// Inspect shows what is left.
func (s *Store) Repair() ([]Problem, error) {
	// The meta pages first, so that bbolt's page check can run.
	meta := s.MetaProblems()
	if len(meta) > 0 {
		if err := s.rewriteMeta(); err != nil {
			return nil, err
		}
		for i := range meta {
			meta[i].Repaired = "meta pages rewritten"
		}
	}
	var rep checkReport
	err := s.guard("repair", func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			rep = checkReport{}
			s.checkAll(tx, &rep)
			for i := range rep.found {
				f := &rep.found[i]
				if f.fix == nil {
					continue
				}
				if err := f.fix(tx); err != nil {
					return fmt.Errorf("repairing %q: %w", f.Text, err)
				}
				f.Repaired = f.what
			}
			return nil
		})
	})
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, s.ioError("repair", err)
	}
	return append(meta, rep.problems()...), nil
}

// rewriteMeta makes bbolt write both meta pages again: each commit writes
// one, alternately (see meta.go), so two empty commits do it; the pages
// are then read back in a third, under the writer's lock, where no commit
// can be writing them.
func (s *Store) rewriteMeta() error {
	var err error
	for range 2 {
		if err == nil {
			err = s.db.Update(func(*bolt.Tx) error { return nil })
		}
	}
	if err == nil {
		err = s.db.Update(func(*bolt.Tx) error {
			f, err := os.Open(s.path)
			if err != nil {
				return err
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			st := readMetaPages(f, fi.Size())
			s.meta.Store(&st)
			return nil
		})
	}
	if err != nil {
		return s.ioError("rewrite meta pages", err)
	}
	return nil
}

// removeDamaged takes an undecodable message out of the queue. Its record
// and body chunks are moved to the quarantine bucket when keep is set, and
// dropped otherwise; the schedule entries, dedupe keys and partial mark
// naming it are found by scanning their buckets, since the record that
// would name them cannot be read. The caller fixes the counters.
func removeDamaged(tx *bolt.Tx, id ID, keep bool) error {
	k := idKey(id)
	if err := moveOut(tx, bucketMsg, k, keep); err != nil {
		return err
	}
	if err := moveBody(tx, id, keep); err != nil {
		return err
	}
	if err := tx.Bucket(bucketPartial).Delete(k); err != nil {
		return err
	}
	var stale [][]byte
	c := tx.Bucket(bucketSched).Cursor()
	for sk, _ := c.First(); sk != nil; sk, _ = c.Next() {
		if _, sid, ok := parseSchedKey(sk); ok && sid == id {
			stale = append(stale, bytes.Clone(sk))
		}
	}
	if err := deleteAll(tx.Bucket(bucketSched), stale); err != nil {
		return err
	}
	stale = stale[:0]
	c = tx.Bucket(bucketDedupe).Cursor()
	for dk, v := c.First(); dk != nil; dk, v = c.Next() {
		if bytes.Equal(v, k) {
			stale = append(stale, bytes.Clone(dk))
		}
	}
	return deleteAll(tx.Bucket(bucketDedupe), stale)
}

// deleteAll deletes keys from b (after the cursor that found them is done).
func deleteAll(b *bolt.Bucket, keys [][]byte) error {
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// moveBody moves the body chunks of message id to the quarantine bucket,
// or drops them.
func moveBody(tx *bolt.Tx, id ID, keep bool) error {
	prefix := idKey(id)
	var keys [][]byte
	c := tx.Bucket(bucketBody).Cursor()
	for k, _ := c.Seek(prefix); k != nil && hasIDPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := moveOut(tx, bucketBody, k, keep); err != nil {
			return err
		}
	}
	return nil
}

// moveOut removes key k from bucket name, first copying its value into the
// quarantine bucket when keep is set.
func moveOut(tx *bolt.Tx, name, k []byte, keep bool) error {
	b := tx.Bucket(name)
	if keep {
		if v := b.Get(k); v != nil {
			q, err := tx.CreateBucketIfNotExists(bucketQuarantine)
			if err != nil {
				return err
			}
			qb, err := q.CreateBucketIfNotExists(quarantineOf[string(name)])
			if err != nil {
				return err
			}
			if err := qb.Put(bytes.Clone(k), bytes.Clone(v)); err != nil {
				return err
			}
		}
	}
	return b.Delete(k)
}

// moveAside is the repair of a key of the wrong form in bucket name.
func moveAside(name, k []byte) func(*bolt.Tx) error {
	k = bytes.Clone(k)
	return func(tx *bolt.Tx) error { return moveOut(tx, name, k, true) }
}

// deleteKey is the repair of a stray entry in bucket name.
func deleteKey(name, k []byte) func(*bolt.Tx) error {
	k = bytes.Clone(k)
	return func(tx *bolt.Tx) error { return tx.Bucket(name).Delete(k) }
}

// raiseSequence is the repair of a message id above the id sequence, so
// that the id is never allocated again.
func raiseSequence(id uint64) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMsg)
		if b.Sequence() >= id {
			return nil
		}
		return b.SetSequence(id)
	}
}

// resched is the repair of a message whose schedule entry is missing or
// not where the rules put it: the entry it remembers is removed and the
// right one written.
func resched(id ID) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		r, err := loadRecord(tx, id)
		if err != nil {
			return err
		}
		if r.scheduled {
			if err := tx.Bucket(bucketSched).Delete(schedKey(r.sched, id)); err != nil {
				return err
			}
		}
		r.scheduled, r.sched = false, 0
		if err := updateSched(tx, r); err != nil {
			return err
		}
		return tx.Bucket(bucketMsg).Put(idKey(id), encodeRecord(r))
	}
}

// dropKey is the repair of a message listing a dedupe key that names
// another message or none: the message forgets it.
func dropKey(id ID, key string) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		r, err := loadRecord(tx, id)
		if err != nil {
			return err
		}
		r.keys = slices.DeleteFunc(r.keys, func(k string) bool { return k == key })
		return tx.Bucket(bucketMsg).Put(idKey(id), encodeRecord(r))
	}
}

// recount sets the counters from the records that decode.
func recount(tx *bolt.Tx) error {
	var st Stats
	c := tx.Bucket(bucketMsg).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != idKeyLen {
			continue
		}
		if r, err := decodeRecord(idFromKey(k), v); err == nil {
			st = st.add(r.contribution())
		}
	}
	return tx.Bucket(bucketInfo).Put(keyStats, encodeStats(st))
}
