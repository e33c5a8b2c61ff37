package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEnqueueParallel: 50 concurrent writers of 2 KB messages, each
// enqueue durable (fsynced) before it returns; group commit shares the
// fsyncs.
func BenchmarkEnqueueParallel(b *testing.B) {
	for _, delay := range []time.Duration{time.Millisecond, 10 * time.Millisecond} {
		b.Run("batch="+delay.String(), func(b *testing.B) {
			s := openTest(b, Options{BatchDelay: delay})
			body := pattern(2048)
			const writers = 50
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((writers + procs - 1) / procs)
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m := msg("rcpt" + strconv.FormatInt(n.Add(1), 10) + "@example.com")
					if _, err := s.Enqueue(context.Background(), m, bytes.NewReader(body)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkRecordParallel: 50 workers recording one result each.
func BenchmarkRecordParallel(b *testing.B) {
	s := openTest(b, Options{})
	ids := make([]ID, 0, 1000)
	for range cap(ids) {
		ids = append(ids, enqueue(b, s, msg("a@x"), "body"))
	}
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((50 + procs - 1) / procs)
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			id := ids[int(i)%len(ids)]
			next := t0.Add(time.Duration(i) * time.Second)
			if _, err := s.Record(id, []Result{{Index: 0, State: Deferred, At: t0, Next: next}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkOpenLargeQueue measures a restart with 1,000,000 queued
// messages: Open, the first NextDue, a full ScanSchedule (what the
// daemon does to rebuild its timers) and the start-up QuickCheck, with the
// memory they take. Building
// the file takes a while, so it runs only with QSEND_BENCH_LARGE=1;
// QSEND_BENCH_LARGE_N changes the count.
func BenchmarkOpenLargeQueue(b *testing.B) {
	if os.Getenv("QSEND_BENCH_LARGE") != "1" {
		b.Skip("set QSEND_BENCH_LARGE=1 to build a queue of 1,000,000 messages")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("QSEND_BENCH_LARGE_N")); err == nil && v > 0 {
		n = v
	}
	path := filepath.Join(b.TempDir(), "queue.db")
	s, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(strings.Repeat("Subject: bulk\n\nline of text\n", 10)) // 280 bytes
	start := time.Now()
	err = s.bulkLoad(n, 20000, func(i int) (NewMessage, []byte) {
		m := msg(fmt.Sprintf("user%d@example%d.com", i, i%1000))
		m.Born = t0.Add(time.Duration(i%86400) * time.Second)
		return m, body
	})
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	fi, _ := os.Stat(path)
	b.Logf("built %d messages in %v; file %.0f MiB", n, time.Since(start), mib(uint64(fi.Size())))

	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		rssBefore := rssKiB()

		t1 := time.Now()
		s, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		_, _, ok, err := s.NextDue()
		firstDue := time.Since(t1)
		if err != nil || !ok {
			b.Fatalf("NextDue: %v, %v", ok, err)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		rssOpen := rssKiB()

		t2 := time.Now()
		count := 0
		if err := s.ScanSchedule(func(time.Time, ID) bool { count++; return true }); err != nil {
			b.Fatal(err)
		}
		scan := time.Since(t2)
		if count != n {
			b.Fatalf("scanned %d entries, want %d", count, n)
		}
		t3 := time.Now()
		if problems, err := s.QuickCheck(context.Background()); err != nil || len(problems) > 0 {
			b.Fatalf("QuickCheck: %v, %v", problems, err)
		}
		quick := time.Since(t3)
		st, _ := s.Stats()
		s.Close()
		b.ReportMetric(float64(quick.Milliseconds()), "quick-check-ms")
		b.ReportMetric(float64(firstDue.Microseconds())/1000, "open-to-first-due-ms")
		b.ReportMetric(float64(scan.Milliseconds()), "scan-all-ms")
		b.ReportMetric(mib(after.HeapInuse-min(after.HeapInuse, before.HeapInuse)), "open-heap-MiB")
		b.ReportMetric(float64(rssOpen-rssBefore)/1024, "open-rss-MiB")
		b.Logf("open to first due %v (heap +%.1f MiB, RSS +%.1f MiB); scan of %d entries %v; stats %+v",
			firstDue, mib(after.HeapInuse-min(after.HeapInuse, before.HeapInuse)), float64(rssOpen-rssBefore)/1024, count, scan, st)
	}
}

// rssKiB is the process's resident set from /proc (0 elsewhere).
func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			v, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return v
		}
	}
	return 0
}
