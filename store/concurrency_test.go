package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestConcurrentEnqueue(t *testing.T) {
	s := openTest(t, Options{})
	s.chunkSize = 2048 // some bodies take the chunked path
	const writers, each = 50, 20
	type sent struct {
		id   ID
		body []byte
	}
	results := make([][]sent, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				body := []byte(fmt.Sprintf("writer %d message %d\n", w, i))
				body = append(body, pattern((w*each+i)*13%5000)...)
				m := msg(fmt.Sprintf("w%d-%d@example.com", w, i))
				id, err := s.Enqueue(context.Background(), m, bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				results[w] = append(results[w], sent{id, body})
			}
		})
	}
	// Deliveries finish concurrently with the enqueues.
	wg.Go(func() {
		for range 100 {
			at, id, ok, err := s.NextDue()
			if err != nil {
				t.Error(err)
				return
			}
			if ok && !at.IsZero() {
				if _, err := s.Record(id, []Result{{Index: 0, State: Deferred, At: t0, Next: t0.Add(time.Hour)}}); err != nil && !errors.Is(err, ErrInvalid) {
					t.Error(err)
					return
				}
			}
		}
	})
	wg.Wait()
	seen := make(map[ID]bool)
	var total int64
	for _, rs := range results {
		for _, r := range rs {
			if seen[r.id] {
				t.Fatalf("id %d handed out twice", r.id)
			}
			seen[r.id] = true
			total += int64(len(r.body))
			if got := readBody(t, s, r.id); !bytes.Equal(got, r.body) {
				t.Fatalf("message %d: body differs", r.id)
			}
		}
	}
	st, _ := s.Stats()
	if want := (Stats{Messages: writers * each, Recipients: writers * each, Bytes: total}); st != want {
		t.Errorf("Stats %+v, want %+v", st, want)
	}
	mustCheck(t, s)
}

// TestDiskFull fills a small tmpfs: every failed enqueue must say ENOSPC,
// and what was acknowledged before must survive.
func TestDiskFull(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	path := filepath.Join(dir, "queue.db")
	s, err := Open(path, Options{})
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			t.Skip("tmpfs too small for the initial file")
		}
		t.Fatal(err)
	}
	defer s.Close()
	var acked []ID
	var full error
	body := strings.Repeat("x", 20000)
	for range 1000 {
		id, err := s.Enqueue(context.Background(), msg("a@x"), strings.NewReader(body))
		if err != nil {
			full = err
			break
		}
		acked = append(acked, id)
	}
	if full == nil {
		t.Fatal("3 MB tmpfs never filled")
	}
	t.Logf("%d acknowledged, then: %v", len(acked), full)
	if !errors.Is(full, syscall.ENOSPC) {
		t.Fatalf("error %v does not wrap ENOSPC", full)
	}
	if !strings.Contains(full.Error(), path) {
		t.Errorf("error %q does not name the file", full)
	}
	// Large bodies fail the same way and leave nothing behind.
	big := strings.Repeat("y", 3<<20)
	if _, err := s.Enqueue(context.Background(), msg("a@x"), strings.NewReader(big)); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("large enqueue on a full disk: %v", err)
	}
	s.Close()
	// Room again: everything acknowledged is there.
	exec.Command("mount", "-o", "remount,size=64m", dir).Run()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range acked {
		if got := readBody(t, s, id); string(got) != body {
			t.Fatalf("acknowledged message %d lost its body", id)
		}
	}
	st, _ := s.Stats()
	if st.Messages != len(acked) {
		t.Errorf("%d messages, %d acknowledged", st.Messages, len(acked))
	}
	mustCheck(t, s)
}
