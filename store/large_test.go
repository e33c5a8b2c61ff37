package store

import (
	"context"
	"crypto/sha256"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"
)

// heapPeak samples HeapInuse until stopped and returns the peak.
func heapPeak() (stop func() uint64) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var peak uint64
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// Test50MBBody enqueues a 50 MB body from a generator (never in memory as
// a whole), reads it back and compares digests, and reports memory.
func Test50MBBody(t *testing.T) {
	if testing.Short() {
		t.Skip("large body")
	}
	s := openTest(t, Options{})
	const size = 50 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := heapPeak()
	start := time.Now()
	id, err := s.Enqueue(context.Background(), msg("big@example.com"), &patternReader{n: size})
	took := time.Since(start)
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("50 MB enqueue: %v; heap in use before %.1f MiB, peak %.1f MiB (+%.1f MiB); allocated %.1f MiB in total",
		took, mib(before.HeapInuse), mib(peak), mib(peak-min(peak, before.HeapInuse)), mib(after.TotalAlloc-before.TotalAlloc))
	// A few chunks, not the body: the sampler can miss a short spike but
	// never hides a 50 MB one.
	if grow := peak - min(peak, before.HeapInuse); grow > 16<<20 {
		t.Errorf("heap grew by %.1f MiB during the enqueue", mib(grow))
	}

	rc, err := s.Body(id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	start = time.Now()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("50 MB read back in %v", time.Since(start))
	if n != size || [32]byte(h.Sum(nil)) != patternSum(size) {
		t.Fatalf("read back %d bytes with a different digest", n)
	}
	m, _ := s.Get(id)
	if m.Size != size {
		t.Errorf("Size %d", m.Size)
	}
	mustCheck(t, s)
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
