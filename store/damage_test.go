package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// damage replaces message id's record with bytes that do not decode.
func damage(t *testing.T, s *Store, id ID) {
	t.Helper()
	s.raw(t, func(tx *bolt.Tx) error { return tx.Bucket(bucketMsg).Put(idKey(id), []byte{1, 0xff}) })
}

func TestWalkAllSkipsDamaged(t *testing.T) {
	s := openTest(t, Options{})
	var ids []ID
	for range 600 {
		ids = append(ids, enqueue(t, s, msg("a@x"), "body"))
	}
	bad := []ID{ids[0], ids[300], ids[599]}
	for _, id := range bad {
		damage(t, s, id)
	}
	n := 0
	err := s.WalkAll(func(Message) error { n++; return nil })
	var de *DamageError
	if !errors.As(err, &de) {
		t.Fatalf("WalkAll: %v, want a DamageError", err)
	}
	wantErr(t, err, ErrCorrupt)
	if n != 597 {
		t.Errorf("fn called %d times, want 597", n)
	}
	if len(de.Damaged) != 3 {
		t.Fatalf("%d damaged records reported, want 3: %v", len(de.Damaged), err)
	}
	for i, p := range de.Damaged {
		if p.ID != bad[i] || !strings.Contains(err.Error(), "message "+bad[i].String()+": ") {
			t.Errorf("damage %d: %+v; error %q", i, p, err)
		}
	}
	problems, err := s.QuickCheck(t.Context())
	if err != nil || len(problems) != 3 {
		t.Errorf("QuickCheck: %v, %v", problems, err)
	}
}

func TestDeleteDamaged(t *testing.T) {
	s := openTest(t, Options{})
	s.chunkSize = 10
	keep := enqueue(t, s, msg("a@x"), "kept")
	m := msg("a@x", "b@y")
	m.DedupeKey = "k1"
	id := enqueue(t, s, m, string(pattern(45)))
	damage(t, s, id)
	if err := s.Check(); err == nil {
		t.Fatal("Check found nothing")
	}
	if err := s.Delete(id); err != nil {
		t.Fatalf("Delete of a damaged record: %v", err)
	}
	mustCheck(t, s)
	_, err := s.Get(id)
	wantErr(t, err, ErrNotFound)
	if st, _ := s.Stats(); st.Messages != 1 || st.Recipients != 1 || st.Bytes != 4 {
		t.Errorf("counters %+v after the delete", st)
	}
	if got := schedule(t, s); len(got) != 1 || got[0].id != keep {
		t.Errorf("schedule %v", got)
	}
	// The key is free again.
	if _, err := s.Enqueue(t.Context(), m, strings.NewReader("again")); err != nil {
		t.Errorf("enqueue with the key of the deleted message: %v", err)
	}
}

func TestRepair(t *testing.T) {
	s := openTest(t, Options{})
	s.chunkSize = 10
	enqueue(t, s, msg("a@x"), "first")
	m := msg("a@x")
	m.DedupeKey = "k1"
	bad := enqueue(t, s, m, string(pattern(45)))
	moved := enqueue(t, s, msg("c@z"), "third")
	raw := []byte{1, 0xff, 0x42}
	s.raw(t, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketMsg).Put(idKey(bad), raw); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSched).Delete(schedKey(toNanos(t0), moved)); err != nil {
			return err
		}
		return tx.Bucket(bucketSched).Put(schedKey(7, 999), nil)
	})
	before, err := s.Inspect()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := s.Repair()
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != len(before) || len(problems) < 3 {
		t.Fatalf("Repair found %v, Inspect %v", problems, before)
	}
	for _, p := range problems {
		if p.Repaired == "" {
			t.Errorf("not repaired: %s", p)
		}
	}
	if !strings.Contains(problems[0].String(), "message 2: ") || !strings.Contains(problems[0].String(), quarantined) {
		t.Errorf("first problem %q", problems[0])
	}
	mustCheck(t, s)
	if st, _ := s.Stats(); st.Messages != 2 {
		t.Errorf("counters %+v", st)
	}
	if got := schedule(t, s); len(got) != 2 || got[1].id != moved {
		t.Errorf("schedule %v", got)
	}
	// The record and its body are kept aside, byte for byte.
	var rec []byte
	var body bytes.Buffer
	s.db.View(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQuarantine)
		rec = bytes.Clone(q.Bucket([]byte("msg")).Get(idKey(bad)))
		return q.Bucket([]byte("body")).ForEach(func(k, v []byte) error { body.Write(v); return nil })
	})
	if !bytes.Equal(rec, raw) || !bytes.Equal(body.Bytes(), pattern(45)) {
		t.Errorf("quarantine holds record %x and a body of %d bytes", rec, body.Len())
	}
	// A repaired file reopens clean, and nothing is found twice.
	s = reopen(t, s, Options{})
	mustCheck(t, s)
	if p, err := s.Repair(); err != nil || len(p) != 0 {
		t.Errorf("second Repair: %v, %v", p, err)
	}
}

func TestZeroedMetaPage(t *testing.T) {
	real, _ := realQueue(t)
	data, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	clear(data[:4096])
	path := filepath.Join(t.TempDir(), "queue.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("bbolt reads a file with one good meta page: %v", err)
	}
	defer func() { s.Close() }()
	problems, err := s.QuickCheck(t.Context())
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0].Text, "meta page 0: zeroed") {
		t.Fatalf("QuickCheck: %v, %v", problems, err)
	}
	// The store's checks still run: bbolt's own waits for the repair.
	damage(t, s, 7)
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "message 7: ") {
		t.Errorf("Check: %v", err)
	}
	problems, err = s.Repair()
	if err != nil || len(problems) != 3 || problems[0].Repaired == "" || problems[1].Repaired != quarantined {
		t.Fatalf("Repair: %v, %v", problems, err)
	}
	mustCheck(t, s)
	s.Close()
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	if problems, err := s.QuickCheck(t.Context()); err != nil || len(problems) != 0 {
		t.Errorf("after repair and reopen: %v, %v", problems, err)
	}
	if st, _ := s.Stats(); st.Messages != 299 {
		t.Errorf("%d messages", st.Messages)
	}
}

func TestTruncatedFileRefused(t *testing.T) {
	real, used := realQueue(t)
	data, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	for _, readOnly := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "queue.db")
		if err := os.WriteFile(path, data[:8192], 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path, Options{ReadOnly: readOnly})
		wantErr(t, err, ErrCorrupt)
		if want := "file is truncated: 8192 bytes, its pages need "; !strings.Contains(err.Error(), want) || used <= 8192 {
			t.Errorf("read-only %v: %v, want %q", readOnly, err, want)
		}
	}
}
