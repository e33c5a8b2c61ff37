package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenCreatesFile(t *testing.T) {
	s := openTest(t, Options{})
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode %v, want 0600", mode)
	}
	st, err := s.Stats()
	if err != nil || st != (Stats{}) {
		t.Errorf("Stats() = %+v, %v; want zero", st, err)
	}
	if _, _, ok, err := s.NextDue(); ok || err != nil {
		t.Errorf("NextDue on an empty queue: ok %v, err %v", ok, err)
	}
	mustCheck(t, s)
	s = reopen(t, s, Options{})
	mustCheck(t, s)
}

func TestEnqueue(t *testing.T) {
	s := openTest(t, Options{})
	tests := []struct {
		name string
		m    NewMessage
		body string
		sch  bool // has a schedule entry
	}{
		{"one recipient", msg("bob@example.com"), "Subject: hi\n\nhello\n", true},
		{"empty body", msg("bob@example.com"), "", true},
		{"null sender, many recipients", NewMessage{Recipients: []string{"a@x", "b@y", "c@z"}, Born: t0}, "x", true},
		{"held", NewMessage{Sender: "s@x", Recipients: []string{"a@x"}, Born: t0, Held: true}, "held\n", false},
		{"intake facts", NewMessage{Sender: "s@x", Recipients: []string{"a@x"}, Born: t0,
			Intake: Intake{Protocol: "esmtps", UID: -1, ClientAddr: "192.0.2.1", HELO: "mx.example", TLS: "TLS_AES_128_GCM_SHA256", Auth: "user"}}, "b", true},
		{"addresses stored as given", msg("  Odd <x>  ", ""), "b", true},
	}
	var last ID
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.Enqueue(context.Background(), tt.m, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if id <= last {
				t.Errorf("id %d not above the previous %d", id, last)
			}
			last = id
			m, err := s.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != id || m.Sender != tt.m.Sender || !m.Born.Equal(tt.m.Born) || m.Held != tt.m.Held ||
				m.Intake != tt.m.Intake || m.Size != int64(len(tt.body)) || len(m.Recipients) != len(tt.m.Recipients) {
				t.Errorf("Get = %+v, enqueued %+v with %d bytes", m, tt.m, len(tt.body))
			}
			for i, rc := range m.Recipients {
				if rc.Addr != tt.m.Recipients[i] || rc.State != Pending || !rc.NextAttempt.Equal(t0) ||
					rc.Attempts != 0 || !rc.LastAttempt.IsZero() || rc.LastResult != "" {
					t.Errorf("recipient %d = %+v", i, rc)
				}
			}
			if got := readBody(t, s, id); string(got) != tt.body {
				t.Errorf("body %q, want %q", got, tt.body)
			}
			found := false
			for _, e := range schedule(t, s) {
				if e.id == id {
					found = true
					if !e.at.Equal(t0) {
						t.Errorf("scheduled at %v, want %v", e.at, t0)
					}
				}
			}
			if found != tt.sch {
				t.Errorf("schedule entry %v, want %v", found, tt.sch)
			}
		})
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Messages: len(tests), Held: 1, Recipients: 9, Bytes: 0}
	for _, tt := range tests {
		want.Bytes += int64(len(tt.body))
	}
	if st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
	mustCheck(t, s)
}

func TestEnqueueBornDefaultsToNow(t *testing.T) {
	s := openTest(t, Options{})
	before := time.Now()
	m := msg("a@x")
	m.Born = time.Time{}
	id := enqueue(t, s, m, "x")
	got, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Born.Before(before.Add(-time.Millisecond)) || got.Born.After(time.Now()) {
		t.Errorf("Born %v not about now", got.Born)
	}
}

func TestEnqueueRefused(t *testing.T) {
	s := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		m    NewMessage
		want error
	}{
		{"no recipients", context.Background(), NewMessage{Sender: "a@x", Born: t0}, ErrInvalid},
		{"huge dedupe key", context.Background(), NewMessage{Recipients: []string{"a@x"}, DedupeKey: strings.Repeat("k", 40000)}, ErrInvalid},
		{"cancelled", ctx, msg("a@x"), context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Enqueue(tt.ctx, tt.m, strings.NewReader("body"))
			wantErr(t, err, tt.want)
		})
	}
	if st, _ := s.Stats(); st != (Stats{}) {
		t.Errorf("refused enqueues changed the counters: %+v", st)
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), f.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	f.n -= n
	return n, nil
}

func TestEnqueueReadErrorStoresNothing(t *testing.T) {
	s := openTest(t, Options{})
	s.chunkSize = 1024
	for _, n := range []int{0, 100, 1024, 5000} {
		if _, err := s.Enqueue(context.Background(), msg("a@x"), &failingReader{n}); err == nil {
			t.Fatalf("reader failing after %d bytes: no error", n)
		}
	}
	st, _ := s.Stats()
	if st != (Stats{}) {
		t.Errorf("counters %+v after failed enqueues", st)
	}
	mustCheck(t, s)
	// No partial bodies may remain.
	var chunks int
	s.raw(t, func(tx *bolt.Tx) error {
		chunks = tx.Bucket(bucketBody).Stats().KeyN + tx.Bucket(bucketPartial).Stats().KeyN
		return nil
	})
	if chunks != 0 {
		t.Errorf("%d body chunks or partial marks left", chunks)
	}
}

func TestBodyChunkBoundaries(t *testing.T) {
	s := openTest(t, Options{})
	const chunk = 1000
	s.chunkSize = chunk
	for _, n := range []int{0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk, 2*chunk + 1, 5*chunk + 7} {
		body := pattern(n)
		// iotest-style one-byte reads exercise readChunk's growth.
		id, err := s.Enqueue(context.Background(), msg("a@x"), &oneByteReader{bytes.NewReader(body)})
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if got := readBody(t, s, id); !bytes.Equal(got, body) {
			t.Errorf("%d bytes: body differs (got %d bytes)", n, len(got))
		}
		m, _ := s.Get(id)
		if m.Size != int64(n) {
			t.Errorf("%d bytes: Size %d", n, m.Size)
		}
	}
	mustCheck(t, s)
}

type oneByteReader struct{ r *bytes.Reader }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestNotFound(t *testing.T) {
	s := openTest(t, Options{})
	id := enqueue(t, s, msg("a@x"), "x")
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"Get":        func() error { _, err := s.Get(id); return err },
		"Body":       func() error { _, err := s.Body(id); return err },
		"Record":     func() error { _, err := s.Record(id, []Result{{State: Delivered}}); return err },
		"Reschedule": func() error { return s.Reschedule(id, t0) },
		"SetHeld":    func() error { return s.SetHeld(id, true) },
		"Delete":     func() error { return s.Delete(id) },
		"unknown id": func() error { _, err := s.Get(999); return err },
	}
	for name, op := range ops {
		err := op()
		wantErr(t, err, ErrNotFound)
		if name != "unknown id" && !strings.Contains(err.Error(), id.String()) {
			t.Errorf("%s: error %q does not name message %d", name, err, id)
		}
	}
}

func TestBodyOfDeletedMessage(t *testing.T) {
	s := openTest(t, Options{})
	s.chunkSize = 100
	id := enqueue(t, s, msg("a@x"), string(pattern(1000)))
	rc, err := s.Body(id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := make([]byte, 50)
	if _, err := rc.Read(buf); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	wantErr(t, err, ErrNotFound)
}

func TestWalk(t *testing.T) {
	s := openTest(t, Options{})
	var ids []ID
	for i := range 600 { // more than two pages
		ids = append(ids, enqueue(t, s, msg("a@x"), strings.Repeat("x", i%7)))
	}
	var got []ID
	if err := s.Walk(func(m Message) error { got = append(got, m.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("walked %d messages, want %d", len(got), len(ids))
	}
	for i := range got {
		if got[i] != ids[i] {
			t.Fatalf("walk order: position %d is %d, want %d", i, got[i], ids[i])
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Walk(func(Message) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Walk with a failing fn: %v after %d calls", err, n)
	}

	// An undecodable record is reported, not skipped.
	bad := ids[300]
	s.raw(t, func(tx *bolt.Tx) error { return tx.Bucket(bucketMsg).Put(idKey(bad), []byte{1, 0xff}) })
	n = 0
	err := s.Walk(func(Message) error { n++; return nil })
	wantErr(t, err, ErrCorrupt)
	if !strings.Contains(err.Error(), "message "+bad.String()) {
		t.Errorf("error %q does not name message %d", err, bad)
	}
	if n != 300 {
		t.Errorf("fn called %d times before the damaged record, want 300", n)
	}
	_, err = s.Get(bad)
	wantErr(t, err, ErrCorrupt)
}

func TestLocked(t *testing.T) {
	s := openTest(t, Options{})
	start := time.Now()
	_, err := Open(s.Path(), Options{LockTimeout: 100 * time.Millisecond})
	wantErr(t, err, ErrLocked)
	if !strings.Contains(err.Error(), s.Path()) {
		t.Errorf("error %q does not name the file", err)
	}
	// bbolt polls the lock every 50 ms and stops one poll early.
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("gave up after %v", d)
	}
	_, err = Open(s.Path(), Options{ReadOnly: true, LockTimeout: 50 * time.Millisecond})
	wantErr(t, err, ErrLocked)
}

func TestReadOnly(t *testing.T) {
	s := openTest(t, Options{})
	id := enqueue(t, s, msg("a@x"), "body")
	ro := reopen(t, s, Options{ReadOnly: true})
	ro2, err := Open(ro.Path(), Options{ReadOnly: true}) // shared lock
	if err != nil {
		t.Fatal(err)
	}
	defer ro2.Close()
	if m, err := ro.Get(id); err != nil || m.ID != id {
		t.Fatalf("Get read-only: %+v, %v", m, err)
	}
	if got := readBody(t, ro2, id); string(got) != "body" {
		t.Errorf("body %q", got)
	}
	if _, err := ro.Enqueue(context.Background(), msg("a@x"), strings.NewReader("x")); err == nil {
		t.Error("Enqueue on a read-only store succeeded")
	}
	if err := ro.Delete(id); err == nil {
		t.Error("Delete on a read-only store succeeded")
	}
	mustCheck(t, ro)
	if _, err := Open(ro.Path()+".missing", Options{ReadOnly: true}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only open of a missing file: %v", err)
	}
}

func TestUnknownFormatVersion(t *testing.T) {
	s := openTest(t, Options{})
	s.raw(t, func(tx *bolt.Tx) error { return tx.Bucket(bucketInfo).Put(keyFormat, []byte("99")) })
	s.Close()
	_, err := Open(s.Path(), Options{})
	wantErr(t, err, ErrVersion)
	if !strings.Contains(err.Error(), s.Path()) {
		t.Errorf("error %q does not name the file", err)
	}
}
