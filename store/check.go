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

// checkReport collects the problems Check finds.
type checkReport struct {
	problems []string
	more     int
}

func (c *checkReport) addf(format string, args ...any) {
	if len(c.problems) == maxProblems {
		c.more++
		return
	}
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// Check verifies the file: bbolt's own page checks, then the store's
// invariants: every message decodes; its schedule entry is where the rules
// put it and is the one it remembers; every schedule entry names a message
// that remembers it; every body is complete and has its recorded size, with
// no chunks belonging to no message; every dedupe key names a message that
// lists it; the counters match a recount. The error, wrapping ErrCorrupt,
// lists the problems. Check reads the whole file in one read transaction.
func (s *Store) Check() error {
	var rep checkReport
	err := s.guard("check", func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				rep.addf("bbolt: %v", err)
			}
			if len(rep.problems) > 0 {
				return nil // the invariants cannot be trusted on broken pages
			}
			checkInvariants(tx, &rep)
			return nil
		})
	})
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return err
		}
		return s.ioError("check", err)
	}
	if len(rep.problems) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "store %s: check found %d problems:", s.path, len(rep.problems)+rep.more)
	for _, p := range rep.problems {
		b.WriteString("\n\t")
		b.WriteString(p)
	}
	if rep.more > 0 {
		fmt.Fprintf(&b, "\n\t... and %d more", rep.more)
	}
	return fmt.Errorf("%s: %w", b.String(), ErrCorrupt)
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
			rep.addf("body key %x is not (id, chunk)", k)
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
			rep.addf("message key %x is not an id", k)
			continue
		}
		id := idFromKey(k)
		if uint64(id) > seq {
			rep.addf("message %d: above the id sequence %d", id, seq)
		}
		r, err := decodeRecord(id, v)
		if err != nil {
			rep.addf("%v", err)
			continue
		}
		count = count.add(r.contribution())
		at, want := r.wantSched()
		switch {
		case want != r.scheduled || (want && at != r.sched):
			rep.addf("message %d: remembers schedule entry (%v, %d), the rules say (%v, %d)", id, r.scheduled, r.sched, want, at)
		case want && sched.Get(schedKey(at, id)) == nil:
			rep.addf("message %d: schedule entry at %d missing", id, at)
		}
		e := bodies[id]
		delete(bodies, id)
		switch {
		case e == nil && r.Size != 0:
			rep.addf("message %d: body of %d bytes missing", id, r.Size)
		case e != nil && e.gap:
			rep.addf("message %d: body chunks not numbered 0..%d", id, e.chunks-1)
		case e != nil && e.bytes != r.Size:
			rep.addf("message %d: body has %d bytes, metadata says %d", id, e.bytes, r.Size)
		}
		if partial.Get(k) != nil {
			rep.addf("message %d: complete but still marked partial", id)
		}
		for _, key := range r.keys {
			if v := dedupe.Get([]byte(key)); v == nil || idFromKey(v) != id {
				rep.addf("message %d: dedupe key %q does not name it", id, key)
			}
		}
	}
	for id := range bodies {
		if partial.Get(idKey(id)) == nil {
			rep.addf("body chunks of message %d, which does not exist", id)
		}
	}

	c = sched.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		at, id, ok := parseSchedKey(k)
		if !ok {
			rep.addf("schedule key %x is not (time, id)", k)
			continue
		}
		v := msgs.Get(idKey(id))
		if v == nil {
			rep.addf("schedule entry at %d names message %d, which does not exist", at, id)
			continue
		}
		if r, err := decodeRecord(id, v); err == nil && (!r.scheduled || r.sched != at) {
			rep.addf("schedule entry at %d for message %d, which remembers (%v, %d)", at, id, r.scheduled, r.sched)
		}
	}

	c = dedupe.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(v) != idKeyLen {
			rep.addf("dedupe key %q: value %x is not an id", k, v)
			continue
		}
		id := idFromKey(v)
		mv := msgs.Get(v)
		if mv == nil {
			rep.addf("dedupe key %q names message %d, which does not exist", k, id)
			continue
		}
		if r, err := decodeRecord(id, mv); err == nil && !slices.Contains(r.keys, string(k)) {
			rep.addf("dedupe key %q names message %d, which does not list it", k, id)
		}
	}

	st, err := readStats(tx)
	if err != nil {
		rep.addf("%v", err)
	} else if st != count {
		rep.addf("counters say %+v, a recount gives %+v", st, count)
	}
}
