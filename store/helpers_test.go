package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// t0 is a fixed birth time for tests.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "queue.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func reopen(t testing.TB, s *Store, opts Options) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	n, err := Open(s.path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func msg(rcpts ...string) NewMessage {
	return NewMessage{
		Sender:     "alice@example.org",
		Recipients: rcpts,
		Born:       t0,
		Intake:     Intake{Protocol: "qmail-queue", UID: 1000, PID: 4242},
	}
}

func enqueue(t testing.TB, s *Store, m NewMessage, body string) ID {
	t.Helper()
	id, err := s.Enqueue(context.Background(), m, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func readBody(t testing.TB, s *Store, id ID) []byte {
	t.Helper()
	rc, err := s.Body(id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type schedEntry struct {
	at time.Time
	id ID
}

func schedule(t testing.TB, s *Store) []schedEntry {
	t.Helper()
	var out []schedEntry
	if err := s.ScanSchedule(func(at time.Time, id ID) bool {
		out = append(out, schedEntry{at, id})
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustCheck(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// patternReader produces n deterministic bytes without holding them.
type patternReader struct {
	n, off int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if rem := p.n - p.off; int64(len(b)) > rem {
		b = b[:rem]
	}
	for i := range b {
		o := p.off + int64(i)
		b[i] = byte(o ^ o>>8 ^ o>>16*31)
	}
	p.off += int64(len(b))
	return len(b), nil
}

func patternSum(n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, &patternReader{n: n})
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

func pattern(n int) []byte {
	b, _ := io.ReadAll(&patternReader{n: int64(n)})
	return b
}

// writePartial leaves a body behind as a crash between the chunk
// transactions and the final commit of a large enqueue would.
func (s *Store) writePartial(t testing.TB, body []byte) ID {
	t.Helper()
	id, err := s.beginPartial()
	if err != nil {
		t.Fatal(err)
	}
	half := len(body) / 2
	if _, err := s.writeChunks(context.Background(), id, bytes.NewReader(body[half:]), body[:half/2], body[half/2:half], false); err != nil {
		t.Fatal(err)
	}
	return id
}

// raw runs fn in a write transaction on the file, for damaging it.
func (s *Store) raw(t testing.TB, fn func(tx *bolt.Tx) error) {
	t.Helper()
	if err := s.db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// bulkLoad stores n messages in transactions of perTx, bypassing group
// commit: it only serves to build large queues for benchmarks.
func (s *Store) bulkLoad(n, perTx int, mk func(i int) (NewMessage, []byte)) error {
	for done := 0; done < n; {
		err := s.db.Update(func(tx *bolt.Tx) error {
			for j := 0; j < perTx && done+j < n; j++ {
				m, body := mk(done + j)
				r := newRecord(m)
				seq, err := tx.Bucket(bucketMsg).NextSequence()
				if err != nil {
					return err
				}
				r.ID, r.Size = ID(seq), int64(len(body))
				if len(body) > 0 {
					if err := tx.Bucket(bucketBody).Put(chunkKey(r.ID, 0), body); err != nil {
						return err
					}
				}
				if err := insertRecord(tx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		done += perTx
	}
	return nil
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want one wrapping %v", err, target)
	}
}
