package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxDedupeKey is bbolt's key size limit.
const maxDedupeKey = bolt.MaxKeySize

// Enqueue stores a message and returns its id once it is durable: the
// transaction holding it has been fsynced (qmail-queue.c: a
// message is acknowledged only after it is safely on disk). Concurrent
// calls share commits.
//
// Every recipient starts Pending and due at Born. With a DedupeKey already
// in the file, nothing is stored and the result is the existing message's
// id with an error wrapping ErrDuplicate. An error from the disk (ENOSPC
// among them, testable with errors.Is) means nothing was stored.
func (s *Store) Enqueue(ctx context.Context, m NewMessage, body io.Reader) (ID, error) {
	msg, err := s.EnqueueMessage(ctx, m, body)
	return msg.ID, err
}

// EnqueueMessage is Enqueue returning the stored message's metadata, as
// Get would, so a caller that needs it (the daemon tells the scheduler)
// does not read back what was just written. With ErrDuplicate only the ID
// is set.
func (s *Store) EnqueueMessage(ctx context.Context, m NewMessage, body io.Reader) (Message, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, err
	}
	if len(m.Recipients) == 0 {
		return Message{}, fmt.Errorf("store: enqueue: message without recipients: %w", ErrInvalid)
	}
	if len(m.DedupeKey) > maxDedupeKey {
		return Message{}, fmt.Errorf("store: enqueue: dedupe key of %d bytes (limit %d): %w", len(m.DedupeKey), maxDedupeKey, ErrInvalid)
	}
	rec := newRecord(m)
	meter := &bodyMeter{r: body}
	body = meter

	var buf []byte
	if m.SizeHint > 0 {
		// One more byte than the hint, so the read that finds the end
		// needs no bigger buffer.
		buf = make([]byte, 0, min(m.SizeHint+1, s.chunkSize))
	}
	first, eof, err := readChunk(body, buf, s.chunkSize)
	if err != nil {
		return Message{}, fmt.Errorf("store: enqueue: reading body: %w", err)
	}
	var second []byte
	if !eof {
		// The body fills a chunk; one more read tells whether there is more.
		second, eof, err = readChunk(body, nil, s.chunkSize)
		if err != nil {
			return Message{}, fmt.Errorf("store: enqueue: reading body: %w", err)
		}
		if len(second) == 0 && eof {
			second = nil
		}
	}
	if err := ctx.Err(); err != nil {
		return Message{}, err
	}
	var id ID
	if second == nil {
		rec.EightBit, rec.WireSize = meter.seen, meter.wireSize()
		id, err = s.enqueueSmall(rec, first)
	} else {
		id, err = s.enqueueLarge(ctx, rec, meter, first, second, eof)
	}
	if err != nil {
		return Message{ID: id}, err
	}
	msg := rec.Message
	msg.ID = id
	return msg, nil
}

// bodyMeter notes, as the body is stored, whether any byte read through
// it is above 127 (Message.EightBit), and counts what Message.WireSize
// needs.
type bodyMeter struct {
	r    io.Reader
	seen bool
	n    int64 // bytes read
	ends int64 // LFs and CRs, less two for each CRLF: the bare ones
	last byte  // the last byte read
}

func (e *bodyMeter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if n > 0 {
		q := p[:n]
		e.ends += int64(bytes.Count(q, []byte{'\n'}) + bytes.Count(q, []byte{'\r'}) - 2*bytes.Count(q, []byte("\r\n")))
		if e.last == '\r' && q[0] == '\n' {
			e.ends -= 2
		}
		e.n += int64(n)
		e.last = q[n-1]
	}
	if !e.seen {
		for _, c := range p[:n] {
			if c > 127 {
				e.seen = true
				break
			}
		}
	}
	return n, err
}

// wireSize is Message.WireSize of the body read: SMTP sends each bare LF
// and bare CR as CRLF and adds a CRLF to a final line without one
// (smtpclient's body writer; RFC 5321 §2.3.8).
func (e *bodyMeter) wireSize() int64 {
	size := e.n + e.ends
	if e.n > 0 && e.last != '\n' && e.last != '\r' {
		size += 2
	}
	return size
}

// newRecord builds the record of a new message: every recipient pending
// and due at birth.
func newRecord(m NewMessage) *record {
	born := m.Born
	if born.IsZero() {
		born = time.Now()
	}
	born = born.Round(0) // drop the monotonic reading; it is not stored
	r := &record{Message: Message{
		Sender:     m.Sender,
		Recipients: make([]Recipient, len(m.Recipients)),
		Born:       born,
		Held:       m.Held,
		Intake:     m.Intake,
		SMTPUTF8:   m.SMTPUTF8,
	}}
	for i, a := range m.Recipients {
		r.Recipients[i] = Recipient{Addr: a, State: Pending, NextAttempt: born}
	}
	if m.DedupeKey != "" {
		r.keys = []string{m.DedupeKey}
	}
	r.warnedOf = m.WarnedOf
	return r
}

// enqueueSmall stores a message whose body fits in one chunk: metadata,
// body, schedule entry, dedupe key and counters in one batched transaction.
func (s *Store) enqueueSmall(rec *record, body []byte) (ID, error) {
	rec.Size = int64(len(body))
	var id, dup ID
	err := s.db.Batch(func(tx *bolt.Tx) error {
		// Batch may run this more than once (after another call in the
		// batch failed, the transaction is rolled back and retried):
		// everything it sets outside the transaction is reset here.
		id, dup = 0, 0
		if k := dedupeOf(rec); k != "" {
			if old := tx.Bucket(bucketDedupe).Get([]byte(k)); old != nil {
				dup = idFromKey(old)
				return markWarned(tx, rec.warnedOf)
			}
		}
		n, err := tx.Bucket(bucketMsg).NextSequence()
		if err != nil {
			return err
		}
		r := *rec
		r.ID = ID(n)
		if len(body) > 0 {
			if err := tx.Bucket(bucketBody).Put(chunkKey(r.ID, 0), body); err != nil {
				return err
			}
		}
		if err := insertRecord(tx, &r); err != nil {
			return err
		}
		id = r.ID
		return nil
	})
	if err != nil {
		return 0, s.ioError("enqueue", err)
	}
	if dup != 0 {
		return dup, duplicate(rec, dup)
	}
	return id, nil
}

// insertRecord writes a new message's metadata, schedule entry, dedupe key
// and counters; its body chunks are already in place.
func insertRecord(tx *bolt.Tx, r *record) error {
	if err := updateSched(tx, r); err != nil {
		return err
	}
	for _, k := range r.keys {
		if err := tx.Bucket(bucketDedupe).Put([]byte(k), idKey(r.ID)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketMsg).Put(idKey(r.ID), encodeRecord(r)); err != nil {
		return err
	}
	if err := markWarned(tx, r.warnedOf); err != nil {
		return err
	}
	return addStats(tx, r.contribution())
}

// markWarned sets the Warned flag of message id, if id is not 0 and the
// message exists. The flag changes no index or counter.
func markWarned(tx *bolt.Tx, id ID) error {
	if id == 0 {
		return nil
	}
	r, err := loadRecord(tx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.Warned {
		return nil
	}
	r.Warned = true
	return tx.Bucket(bucketMsg).Put(idKey(id), encodeRecord(r))
}

// enqueueLarge stores a body of more than one chunk without holding it in
// memory: it allocates the id and marks it partial, writes the body a chunk
// per transaction, then commits metadata, schedule entry and dedupe key and
// clears the mark in one batched transaction. A crash before that last
// commit leaves a partial body, which Open removes.
func (s *Store) enqueueLarge(ctx context.Context, rec *record, body *bodyMeter, first, second []byte, eof bool) (ID, error) {
	if k := dedupeOf(rec); k != "" && rec.warnedOf == 0 {
		// Cheap early answer; the final transaction checks again (and
		// sets the flag of a WarnedOf, which this read cannot).
		var dup ID
		err := s.db.View(func(tx *bolt.Tx) error {
			if old := tx.Bucket(bucketDedupe).Get([]byte(k)); old != nil {
				dup = idFromKey(old)
			}
			return nil
		})
		if err != nil {
			return 0, s.ioError("enqueue", err)
		}
		if dup != 0 {
			return dup, duplicate(rec, dup)
		}
	}
	id, err := s.beginPartial()
	if err != nil {
		return 0, err
	}
	size, err := s.writeChunks(ctx, id, body, first, second, eof)
	if err != nil {
		s.abandonPartial(id)
		return 0, err
	}
	rec.ID, rec.Size, rec.EightBit, rec.WireSize = id, size, body.seen, body.wireSize()
	var dup ID
	err = s.db.Batch(func(tx *bolt.Tx) error {
		dup = 0
		if k := dedupeOf(rec); k != "" {
			if old := tx.Bucket(bucketDedupe).Get([]byte(k)); old != nil {
				dup = idFromKey(old)
				if err := deleteBody(tx, id); err != nil {
					return err
				}
				if err := markWarned(tx, rec.warnedOf); err != nil {
					return err
				}
				return tx.Bucket(bucketPartial).Delete(idKey(id))
			}
		}
		r := *rec
		if err := insertRecord(tx, &r); err != nil {
			return err
		}
		return tx.Bucket(bucketPartial).Delete(idKey(id))
	})
	if err != nil {
		s.abandonPartial(id)
		return 0, s.ioError("enqueue", err)
	}
	if dup != 0 {
		return dup, duplicate(rec, dup)
	}
	return id, nil
}

// beginPartial allocates an id for a large body and marks it partial.
func (s *Store) beginPartial() (ID, error) {
	var id ID
	err := s.db.Update(func(tx *bolt.Tx) error {
		n, err := tx.Bucket(bucketMsg).NextSequence()
		if err != nil {
			return err
		}
		id = ID(n)
		return tx.Bucket(bucketPartial).Put(idKey(id), encodeTime(time.Now()))
	})
	if err != nil {
		return 0, s.ioError("enqueue", err)
	}
	return id, nil
}

// writeChunks writes the body of message id, a chunk per transaction,
// reusing one buffer, and returns its size.
func (s *Store) writeChunks(ctx context.Context, id ID, body io.Reader, first, second []byte, eof bool) (int64, error) {
	var size int64
	var n uint32
	put := func(chunk []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketBody).Put(chunkKey(id, n), chunk)
		})
		if err != nil {
			return s.ioError(fmt.Sprintf("enqueue: message %d: body chunk %d", id, n), err)
		}
		n++
		size += int64(len(chunk))
		return nil
	}
	if err := put(first); err != nil {
		return 0, err
	}
	buf := first
	if err := put(second); err != nil {
		return 0, err
	}
	for !eof {
		var err error
		buf, eof, err = readChunk(body, buf, s.chunkSize)
		if err != nil {
			return 0, fmt.Errorf("store: enqueue: message %d: reading body: %w", id, err)
		}
		if len(buf) == 0 {
			break
		}
		if err := put(buf); err != nil {
			return 0, err
		}
	}
	return size, nil
}

// abandonPartial removes a partial body after a failed enqueue. If that
// fails too, the partial mark makes the next Open remove it.
func (s *Store) abandonPartial(id ID) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := deleteBody(tx, id); err != nil {
			return err
		}
		return tx.Bucket(bucketPartial).Delete(idKey(id))
	})
	if err != nil {
		s.log.Warn("cannot remove partial body; it will be removed at the next start",
			"file", s.path, "msg", uint64(id), "err", err)
	}
}

// removePartials deletes bodies whose enqueue never finished (a crash
// between the first chunk and the final commit).
func (s *Store) removePartials() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		p := tx.Bucket(bucketPartial)
		var ids []ID
		c := p.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) != idKeyLen {
				return fmt.Errorf("store %s: partial mark %x is not an id: %w", s.path, k, ErrCorrupt)
			}
			ids = append(ids, idFromKey(k))
		}
		for _, id := range ids {
			started := decodeTime(p.Get(idKey(id)))
			chunks, bytes := bodyExtent(tx, id)
			if err := deleteBody(tx, id); err != nil {
				return s.ioError("remove partial body", err)
			}
			if err := p.Delete(idKey(id)); err != nil {
				return s.ioError("remove partial body", err)
			}
			s.log.Warn("removed a message body left incomplete by a crash",
				"file", s.path, "msg", uint64(id), "chunks", chunks, "bytes", bytes, "started", started)
		}
		return nil
	})
}

// deleteBody removes every chunk of message id.
func deleteBody(tx *bolt.Tx, id ID) error {
	c := tx.Bucket(bucketBody).Cursor()
	prefix := idKey(id)
	for k, _ := c.Seek(prefix); k != nil && hasIDPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// bodyExtent counts the chunks and bytes stored for message id.
func bodyExtent(tx *bolt.Tx, id ID) (chunks int, bytes int64) {
	c := tx.Bucket(bucketBody).Cursor()
	prefix := idKey(id)
	for k, v := c.Seek(prefix); k != nil && hasIDPrefix(k, prefix); k, v = c.Next() {
		chunks++
		bytes += int64(len(v))
	}
	return chunks, bytes
}

func hasIDPrefix(k, prefix []byte) bool {
	return len(k) == chunkKeyLen && string(k[:idKeyLen]) == string(prefix)
}

// readChunk reads from r until it has limit bytes or r ends, growing buf
// (reused from its start) as needed, so a small body costs about its own
// size. eof reports that r has ended.
func readChunk(r io.Reader, buf []byte, limit int) (out []byte, eof bool, err error) {
	buf = buf[:0]
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			c := min(limit, max(2*cap(buf), 4096))
			nb := make([]byte, len(buf), c)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, false, nil
}

func dedupeOf(r *record) string {
	if len(r.keys) == 0 {
		return ""
	}
	return r.keys[0]
}

func duplicate(r *record, id ID) error {
	return fmt.Errorf("store: dedupe key %q names message %d: %w", dedupeOf(r), id, ErrDuplicate)
}
