package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// maxProblems bounds the problems Check lists one by one.
const maxProblems = 100

// Problem is one fault a check found in the queue file.
type Problem struct {
	// ID is the message the problem concerns, 0 for the file as a whole.
	ID ID
	// Text says what is wrong.
	Text string
	// Repaired says what Repair did about it; empty when it left it.
	Repaired string
}

// String is the problem on one line, with what was done about it.
func (p Problem) String() string {
	if p.Repaired == "" {
		return p.Text
	}
	return p.Text + ": " + p.Repaired
}

// finding is a problem with the change that repairs it, if there is one.
type finding struct {
	Problem
	what string                  // what fix does, for Problem.Repaired
	fix  func(tx *bolt.Tx) error // nil when nothing safe can be done
}

// checkReport collects the problems a check finds.
type checkReport struct {
	found []finding
}

func (c *checkReport) addf(format string, args ...any) {
	c.add(0, "", nil, format, args...)
}

// add records a problem about message id, and how to repair it.
func (c *checkReport) add(id ID, what string, fix func(*bolt.Tx) error, format string, args ...any) {
	c.found = append(c.found, finding{Problem: Problem{ID: id, Text: fmt.Sprintf(format, args...)}, what: what, fix: fix})
}

func (c *checkReport) problems() []Problem {
	out := make([]Problem, len(c.found))
	for i, f := range c.found {
		out[i] = f.Problem
	}
	return out
}

// Check verifies the file: its meta pages as Open read them, bbolt's own
// page checks, then the store's invariants: every message decodes; its
// schedule entry is where the rules put it and is the one it remembers;
// every schedule entry names a message that remembers it; every body is
// complete and has its recorded size, with no chunks belonging to no
// message; every dedupe key names a message that lists it; the counters
// match a recount. The error, wrapping ErrCorrupt, lists the problems.
// Check reads the whole file in one read transaction.
func (s *Store) Check() error {
	problems, err := s.Inspect()
	if err != nil {
		return err
	}
	if len(problems) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "store %s: check found %d problems:", s.path, len(problems))
	for _, p := range problems[:min(len(problems), maxProblems)] {
		b.WriteString("\n\t")
		b.WriteString(p.Text)
	}
	if len(problems) > maxProblems {
		fmt.Fprintf(&b, "\n\t... and %d more", len(problems)-maxProblems)
	}
	return fmt.Errorf("%s: %w", b.String(), ErrCorrupt)
}

// Inspect is Check giving each problem found, in the order found; the
// error is for a check that could not run.
func (s *Store) Inspect() ([]Problem, error) {
	var rep checkReport
	err := s.guard("check", func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			s.checkAll(tx, &rep)
			return nil
		})
	})
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, s.ioError("check", err)
	}
	return rep.problems(), nil
}

// checkAll runs every check inside tx.
func (s *Store) checkAll(tx *bolt.Tx, rep *checkReport) {
	meta := s.MetaProblems()
	for _, p := range meta {
		rep.addf("%s", p.Text) // Repair rewrites them first
	}
	// bbolt's page check fails at once on a damaged meta page, so it
	// waits for the repair; the store's checks are guarded anyway.
	if len(meta) == 0 {
		for err := range tx.Check() {
			rep.addf("bbolt: %v", err)
		}
		if len(rep.found) > 0 {
			return // the invariants cannot be trusted on broken pages
		}
	}
	checkInvariants(tx, rep)
}

// checkInvariants checks everything above bbolt's page structure.
func checkInvariants(tx *bolt.Tx, rep *checkReport) {
	msgs := tx.Bucket(bucketMsg)
	sched := tx.Bucket(bucketSched)
	partial := tx.Bucket(bucketPartial)
	dedupe := tx.Bucket(bucketDedupe)

	// Body extents, in one pass over the body bucket.
	type extent struct {
		chunks uint32
		bytes  int64
		gap    bool
	}
	bodies := make(map[ID]*extent)
	c := tx.Bucket(bucketBody).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != chunkKeyLen {
			rep.add(0, movedAside, moveAside(bucketBody, k), "body key %x is not (id, chunk)", k)
			continue
		}
		id := idFromKey(k)
		e := bodies[id]
		if e == nil {
			e = &extent{}
			bodies[id] = e
		}
		if binary.BigEndian.Uint32(k[idKeyLen:]) != e.chunks {
			e.gap = true
		}
		e.chunks++
		e.bytes += int64(len(v))
	}

	var count Stats
	seq := msgs.Sequence()
	c = msgs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != idKeyLen {
			rep.add(0, movedAside, moveAside(bucketMsg, k), "message key %x is not an id", k)
			continue
		}
		id := idFromKey(k)
		if uint64(id) > seq {
			rep.add(id, "id sequence raised", raiseSequence(uint64(id)), "message %d: above the id sequence %d", id, seq)
		}
		r, err := decodeRecord(id, v)
		if err != nil {
			delete(bodies, id)
			rep.add(id, quarantined, func(tx *bolt.Tx) error { return removeDamaged(tx, id, true) }, "%v", err)
			continue
		}
		count = count.add(r.contribution())
		at, want := r.wantSched()
		switch {
		case want != r.scheduled || (want && at != r.sched):
			rep.add(id, rescheduled, resched(id), "message %d: remembers schedule entry (%v, %d), the rules say (%v, %d)", id, r.scheduled, r.sched, want, at)
		case want && sched.Get(schedKey(at, id)) == nil:
			rep.add(id, rescheduled, resched(id), "message %d: schedule entry at %d missing", id, at)
		}
		e := bodies[id]
		delete(bodies, id)
		switch {
		case e == nil && r.Size != 0:
			rep.add(id, "", nil, "message %d: body of %d bytes missing", id, r.Size)
		case e != nil && e.gap:
			rep.add(id, "", nil, "message %d: body chunks not numbered 0..%d", id, e.chunks-1)
		case e != nil && e.bytes != r.Size:
			rep.add(id, "", nil, "message %d: body has %d bytes, metadata says %d", id, e.bytes, r.Size)
		}
		if partial.Get(k) != nil {
			rep.add(id, "mark removed", deleteKey(bucketPartial, k), "message %d: complete but still marked partial", id)
		}
		for _, key := range r.keys {
			if v := dedupe.Get([]byte(key)); v == nil || idFromKey(v) != id {
				rep.add(id, "key dropped from the message", dropKey(id, key), "message %d: dedupe key %q does not name it", id, key)
			}
		}
	}
	for id := range bodies {
		if partial.Get(idKey(id)) == nil {
			rep.add(id, movedAside, func(tx *bolt.Tx) error { return moveBody(tx, id, true) }, "body chunks of message %d, which does not exist", id)
		}
	}

	c = sched.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		at, id, ok := parseSchedKey(k)
		if !ok {
			rep.add(0, entryRemoved, deleteKey(bucketSched, k), "schedule key %x is not (time, id)", k)
			continue
		}
		v := msgs.Get(idKey(id))
		if v == nil {
			rep.add(id, entryRemoved, deleteKey(bucketSched, k), "schedule entry at %d names message %d, which does not exist", at, id)
			continue
		}
		if r, err := decodeRecord(id, v); err == nil && (!r.scheduled || r.sched != at) {
			rep.add(id, entryRemoved, deleteKey(bucketSched, k), "schedule entry at %d for message %d, which remembers (%v, %d)", at, id, r.scheduled, r.sched)
		}
	}

	c = dedupe.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(v) != idKeyLen {
			rep.add(0, keyRemoved, deleteKey(bucketDedupe, k), "dedupe key %q: value %x is not an id", k, v)
			continue
		}
		id := idFromKey(v)
		mv := msgs.Get(v)
		if mv == nil {
			rep.add(id, keyRemoved, deleteKey(bucketDedupe, k), "dedupe key %q names message %d, which does not exist", k, id)
			continue
		}
		if r, err := decodeRecord(id, mv); err == nil && !slices.Contains(r.keys, string(k)) {
			rep.add(id, keyRemoved, deleteKey(bucketDedupe, k), "dedupe key %q names message %d, which does not list it", k, id)
		}
	}

	rewrite := func(tx *bolt.Tx) error { return tx.Bucket(bucketInfo).Put(keyStats, encodeStats(count)) }
	st, err := readStats(tx)
	if err != nil {
		rep.add(0, countersRewritten, rewrite, "%v", err)
	} else if st != count {
		rep.add(0, countersRewritten, rewrite, "counters say %+v, a recount gives %+v", st, count)
	}
}
