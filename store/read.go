package store

import (
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// loadRecord reads and decodes message id inside a transaction.
func loadRecord(tx *bolt.Tx, id ID) (*record, error) {
	v := tx.Bucket(bucketMsg).Get(idKey(id))
	if v == nil {
		return nil, notFound(id)
	}
	return decodeRecord(id, v)
}

// Get returns a message's metadata; an unknown id gives an error wrapping
// ErrNotFound, an undecodable record one wrapping ErrCorrupt.
func (s *Store) Get(id ID) (Message, error) {
	var r *record
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		r, err = loadRecord(tx, id)
		return err
	})
	if err != nil {
		return Message{}, s.ioError("get", err)
	}
	return r.Message, nil
}

// walkPage is how many records Walk decodes per read transaction.
const walkPage = 256

// Walk calls fn for every message in id order, with metadata only. It
// reads a page of messages per short read transaction and calls fn
// outside it, so fn may be slow; messages enqueued or deleted meanwhile
// may or may not be seen. It stops at the first error from fn, or at an
// undecodable record (an error naming its id and wrapping ErrCorrupt),
// after calling fn for the messages before it.
func (s *Store) Walk(fn func(Message) error) error {
	return s.walk(fn, nil)
}

// walk is Walk, or WalkAll when damaged is not nil: an undecodable record
// is then added to it and the walk goes on.
func (s *Store) walk(fn func(Message) error, damaged *[]Problem) error {
	var after []byte
	page := make([]Message, 0, walkPage)
	for {
		page = page[:0]
		var stop error
		more := false
		err := s.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketMsg).Cursor()
			var k, v []byte
			if after == nil {
				k, v = c.First()
			} else {
				k, v = c.Seek(after)
				if k != nil && string(k) == string(after) {
					k, v = c.Next()
				}
			}
			for ; k != nil; k, v = c.Next() {
				if len(page) == walkPage {
					more = true
					return nil
				}
				var r *record
				var id ID // 0 for a key that is no id
				var err error
				if len(k) == idKeyLen {
					id = idFromKey(k)
					r, err = decodeRecord(id, v)
				} else {
					err = fmt.Errorf("message key %x is not an id: %w", k, ErrCorrupt)
				}
				after = append(after[:0], k...)
				switch {
				case err == nil:
					page = append(page, r.Message)
				case damaged != nil:
					*damaged = append(*damaged, Problem{ID: id, Text: err.Error()})
				default:
					stop = err
					return nil
				}
			}
			return nil
		})
		if err != nil {
			return s.ioError("walk", err)
		}
		for _, m := range page {
			if err := fn(m); err != nil {
				return err
			}
		}
		if stop != nil {
			return fmt.Errorf("store %s: walk: %w", s.path, stop)
		}
		if !more {
			return nil
		}
	}
}

// Body returns a reader of message id's body. It reads one chunk per
// short read transaction, copying it out, so an open reader never blocks
// writers. Reading a message deleted meanwhile fails with ErrNotFound.
func (s *Store) Body(id ID) (io.ReadCloser, error) {
	m, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	return &bodyReader{s: s, id: id, remain: m.Size}, nil
}

// bodyReader streams a body chunk by chunk.
type bodyReader struct {
	s      *Store
	id     ID
	next   uint32 // number of the next chunk to load
	remain int64  // bytes not yet loaded
	buf    []byte // current chunk
	off    int    // read position in buf
	err    error  // sticky
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.off == len(r.buf) {
		if r.remain == 0 {
			return 0, io.EOF
		}
		if err := r.load(); err != nil {
			r.err = err
			return 0, err
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// load copies the next chunk into the reader's buffer.
func (r *bodyReader) load() error {
	err := r.s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketBody).Get(chunkKey(r.id, r.next))
		if v == nil {
			if tx.Bucket(bucketMsg).Get(idKey(r.id)) == nil {
				return fmt.Errorf("message %d: deleted while its body was read: %w", r.id, ErrNotFound)
			}
			return fmt.Errorf("message %d: body chunk %d missing with %d bytes to go: %w", r.id, r.next, r.remain, ErrCorrupt)
		}
		if int64(len(v)) > r.remain || len(v) == 0 {
			return fmt.Errorf("message %d: body chunk %d has %d bytes with %d to go: %w", r.id, r.next, len(v), r.remain, ErrCorrupt)
		}
		if r.buf == nil {
			if b, ok := r.s.chunks.Get().(*[]byte); ok {
				r.buf = *b
			}
		}
		r.buf = append(r.buf[:0], v...)
		return nil
	})
	if err != nil {
		return r.s.ioError("body", err)
	}
	r.next++
	r.remain -= int64(len(r.buf))
	r.off = 0
	return nil
}

// Close gives the reader's buffer back for the next body read, so that
// delivering a large message does not allocate its chunks again.
func (r *bodyReader) Close() error {
	if r.buf != nil && cap(r.buf) <= r.s.chunkSize {
		b := r.buf[:0]
		r.s.chunks.Put(&b)
	}
	r.buf, r.err = nil, fmt.Errorf("message %d: body reader closed", r.id)
	return nil
}
