package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/qsend/qsend/internal/testlib"
)

func TestDedupeKeys(t *testing.T) {
	s := openTest(t, Options{})
	s.chunkSize = 100
	ctx := context.Background()
	keyed := func(key string) NewMessage {
		m := msg("a@x")
		m.DedupeKey = key
		return m
	}
	first := enqueue(t, s, keyed("maildrop/1700000000.123"), "one")
	for _, body := range []string{"small", string(pattern(1000))} {
		id, err := s.Enqueue(ctx, keyed("maildrop/1700000000.123"), strings.NewReader(body))
		wantErr(t, err, ErrDuplicate)
		if id != first {
			t.Errorf("duplicate enqueue returned %d, want %d", id, first)
		}
	}
	if st, _ := s.Stats(); st.Messages != 1 {
		t.Errorf("%d messages after duplicates", st.Messages)
	}

	// Keys survive a restart.
	s = reopen(t, s, Options{})
	s.chunkSize = 100
	id, err := s.Enqueue(ctx, keyed("maildrop/1700000000.123"), strings.NewReader("x"))
	wantErr(t, err, ErrDuplicate)
	if id != first {
		t.Errorf("after reopen: %d, want %d", id, first)
	}

	// ForgetKey lets the key be used again; the old message stays.
	if err := s.ForgetKey("maildrop/1700000000.123"); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetKey("never used"); err != nil {
		t.Errorf("ForgetKey of an unknown key: %v", err)
	}
	second := enqueue(t, s, keyed("maildrop/1700000000.123"), "two")
	if second == first {
		t.Fatal("same id after ForgetKey")
	}
	mustCheck(t, s)
	// Deleting the first message must not remove the key now naming the second.
	if err := s.Delete(first); err != nil {
		t.Fatal(err)
	}
	_, err = s.Enqueue(ctx, keyed("maildrop/1700000000.123"), strings.NewReader("x"))
	wantErr(t, err, ErrDuplicate)
	mustCheck(t, s)
	if err := s.Delete(second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, keyed("maildrop/1700000000.123"), strings.NewReader("x")); err != nil {
		t.Errorf("key of a deleted message still blocks: %v", err)
	}
	mustCheck(t, s)
}

func TestDedupeConcurrent(t *testing.T) {
	s := openTest(t, Options{})
	s.chunkSize = 100
	var wg sync.WaitGroup
	ids := make([]ID, 20)
	errs := make([]error, 20)
	for i := range ids {
		wg.Go(func() {
			m := msg("a@x")
			m.DedupeKey = "bounce/42"
			body := "small"
			if i%2 == 1 {
				body = string(pattern(500)) // chunked path
			}
			ids[i], errs[i] = s.Enqueue(context.Background(), m, strings.NewReader(body))
		})
	}
	wg.Wait()
	winners := 0
	for i := range ids {
		switch {
		case errs[i] == nil:
			winners++
		case !errors.Is(errs[i], ErrDuplicate):
			t.Errorf("enqueue %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Errorf("enqueue %d returned %d, enqueue 0 %d", i, ids[i], ids[0])
		}
	}
	if winners != 1 {
		t.Errorf("%d enqueues stored the message, want 1", winners)
	}
	if st, _ := s.Stats(); st.Messages != 1 {
		t.Errorf("%d messages", st.Messages)
	}
	mustCheck(t, s)
}

func TestPartialBodyRemovedAtOpen(t *testing.T) {
	s := openTest(t, Options{})
	s.chunkSize = 1000
	keep := enqueue(t, s, msg("keep@x"), string(pattern(3500)))
	partial := s.writePartial(t, pattern(5000))
	if err := s.Check(); err != nil {
		t.Errorf("Check with a body being written: %v", err)
	}
	s.Close()

	var log testlib.LogBuffer
	s, err := Open(s.Path(), Options{Logger: log.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "msg="+partial.String()) {
		t.Errorf("no warning naming message %d: %q", partial, log.String())
	}
	s.raw(t, func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketPartial).Stats().KeyN; n != 0 {
			t.Errorf("%d partial marks left", n)
		}
		if c, _ := bodyExtent(tx, partial); c != 0 {
			t.Errorf("%d chunks of the partial body left", c)
		}
		return nil
	})
	if got := readBody(t, s, keep); !bytes.Equal(got, pattern(3500)) {
		t.Error("complete message damaged by the cleanup")
	}
	if _, err := s.Get(partial); !errors.Is(err, ErrNotFound) {
		t.Errorf("partial message visible: %v", err)
	}
	// Its id is never handed out again.
	if id := enqueue(t, s, msg("a@x"), "x"); id <= partial {
		t.Errorf("new id %d reuses %d", id, partial)
	}
	mustCheck(t, s)
}

// realQueue builds a queue file with some content and returns its path
// and the size its pages take (bbolt grows the file beyond that).
func realQueue(t *testing.T) (string, int) {
	s := openTest(t, Options{})
	s.chunkSize = 4096
	for i := range 300 {
		enqueue(t, s, msg("a@x", "b@y"), string(pattern(i*37)))
	}
	var used int64
	s.db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	s.Close()
	return s.Path(), int(used)
}

func TestDamagedFiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	real, used := realQueue(t)
	realBytes, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.LittleEndian.Uint32(realBytes[16+8:]))
	badMagic := bytes.Clone(realBytes)
	for _, off := range []int{16, pageSize + 16} { // magic of both meta pages
		badMagic[off] ^= 0xff
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"zero length", nil},
		{"a few random bytes", random(100)},
		{"random page", random(4096)},
		{"random 64 KiB", random(64 << 10)},
		{"text file", []byte(strings.Repeat("this is not a queue\n", 1000))},
		{"truncated to one page", realBytes[:4096]},
		{"truncated to half", realBytes[:used/2]},
		{"last page cut", realBytes[:used-pageSize]},
		{"wrong magic", badMagic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "queue.db")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("damaged file opened")
			}
			wantErr(t, err, ErrCorrupt)
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, tt.data) {
				t.Error("Open changed the damaged file")
			}
		})
	}
	// The intact file still opens with its messages.
	s, err := Open(real, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, _ := s.Stats(); st.Messages != 300 {
		t.Errorf("%d messages", st.Messages)
	}
	mustCheck(t, s)
}

func TestForeignBboltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
	db.Close()
	_, err = Open(path, Options{})
	wantErr(t, err, ErrCorrupt)
}

func TestCheckFindsProblems(t *testing.T) {
	tests := []struct {
		name   string
		damage func(tx *bolt.Tx, id ID) error
		want   string
	}{
		{"schedule entry removed", func(tx *bolt.Tx, id ID) error {
			return tx.Bucket(bucketSched).Delete(schedKey(toNanos(t0), id))
		}, "schedule entry at"},
		{"stray schedule entry", func(tx *bolt.Tx, id ID) error {
			return tx.Bucket(bucketSched).Put(schedKey(5, 999), nil)
		}, "names message 999, which does not exist"},
		{"body chunk removed", func(tx *bolt.Tx, id ID) error {
			return tx.Bucket(bucketBody).Delete(chunkKey(id, 1))
		}, "body chunks not numbered"},
		{"body chunk shortened", func(tx *bolt.Tx, id ID) error {
			return tx.Bucket(bucketBody).Put(chunkKey(id, 2), []byte("x"))
		}, "body has"},
		{"orphan chunk", func(tx *bolt.Tx, id ID) error {
			return tx.Bucket(bucketBody).Put(chunkKey(777, 0), []byte("x"))
		}, "message 777, which does not exist"},
		{"counters off", func(tx *bolt.Tx, id ID) error {
			return tx.Bucket(bucketInfo).Put(keyStats, encodeStats(Stats{Messages: 5}))
		}, "counters say"},
		{"undecodable record", func(tx *bolt.Tx, id ID) error {
			return tx.Bucket(bucketMsg).Put(idKey(id), []byte{codecVersion})
		}, "message " + "2"},
		{"dangling dedupe key", func(tx *bolt.Tx, id ID) error {
			return tx.Bucket(bucketDedupe).Put([]byte("k"), idKey(555))
		}, `dedupe key "k" names message 555`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, Options{})
			s.chunkSize = 10
			enqueue(t, s, msg("a@x"), "first")
			id := enqueue(t, s, msg("a@x"), string(pattern(45)))
			mustCheck(t, s)
			s.raw(t, func(tx *bolt.Tx) error { return tt.damage(tx, id) })
			err := s.Check()
			wantErr(t, err, ErrCorrupt)
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), s.Path()) {
				t.Errorf("Check error %q does not mention %q and the file", err, tt.want)
			}
		})
	}
}

// TestGarbagePages overwrites pages of the tree inside a real file: Open
// may not notice (it reads no more than it needs), but Check must, without
// a panic. (Free pages are harmless, and bbolt keeps no checksum of the
// bytes inside a value, so those are not tried.)
func TestGarbagePages(t *testing.T) {
	real, _ := realQueue(t)
	db, err := bolt.Open(real, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	var tree []int
	db.View(func(tx *bolt.Tx) error {
		for id := 2; ; id++ {
			pi, err := tx.Page(id)
			if err != nil || pi == nil {
				return err
			}
			if pi.Type == "leaf" || pi.Type == "branch" || pi.Type == "freelist" {
				tree = append(tree, id)
			}
		}
	})
	pageSize := db.Info().PageSize
	db.Close()
	if len(tree) < 5 {
		t.Fatalf("only %d tree pages", len(tree))
	}
	orig, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, pg := range []int{tree[0], tree[1], tree[len(tree)/3], tree[len(tree)/2], tree[len(tree)-1]} {
		data := bytes.Clone(orig)
		for i := pg * pageSize; i < (pg+1)*pageSize; i++ {
			data[i] = byte(rng.Uint32())
		}
		path := filepath.Join(t.TempDir(), "queue.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{})
		if err != nil {
			wantErr(t, err, ErrCorrupt)
			continue
		}
		// Reading may or may not meet the page; it must not crash.
		if err := s.Walk(func(Message) error { return nil }); err != nil {
			wantErr(t, err, ErrCorrupt)
		}
		if err := s.ScanSchedule(func(time.Time, ID) bool { return true }); err != nil {
			wantErr(t, err, ErrCorrupt)
		}
		err = s.Check()
		s.Close()
		if err == nil {
			t.Errorf("tree page %d overwritten: Check found nothing", pg)
			continue
		}
		wantErr(t, err, ErrCorrupt)
	}
}

// cancelReader cancels its context after n bytes, as a client that hangs
// up in the middle of a large message.
type cancelReader struct {
	r      *patternReader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.r.off >= c.n {
		c.cancel()
	}
	return c.r.Read(p)
}

func TestLargeEnqueueCancelled(t *testing.T) {
	s := openTest(t, Options{})
	s.chunkSize = 1000
	ctx, cancel := context.WithCancel(context.Background())
	_, err := s.Enqueue(ctx, msg("a@x"), &cancelReader{r: &patternReader{n: 10000}, n: 4500, cancel: cancel})
	wantErr(t, err, context.Canceled)
	s.raw(t, func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketBody).Stats().KeyN + tx.Bucket(bucketPartial).Stats().KeyN; n != 0 {
			t.Errorf("%d chunks or partial marks left", n)
		}
		return nil
	})
	if st, _ := s.Stats(); st != (Stats{}) {
		t.Errorf("Stats %+v", st)
	}
	mustCheck(t, s)
}
