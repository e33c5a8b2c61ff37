package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/store"
)

// TestRestartLargeQueue measures a restart with a large queue: the time
// from opening the queue file to the scheduler's first delivery attempt,
// and the peak memory of the process doing it. It runs only when
// QSEND_BENCH_LARGE holds the number of messages (scripts/bench-restart).
// The queue file is built once and kept in the temporary directory.
func TestRestartLargeQueue(t *testing.T) {
	if path := os.Getenv("QSEND_RESTART_CHILD"); path != "" {
		restartChild(t, path)
		return
	}
	n, _ := strconv.Atoi(os.Getenv("QSEND_BENCH_LARGE"))
	if n <= 0 {
		t.Skip("set QSEND_BENCH_LARGE to the number of messages (scripts/bench-restart)")
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("qsend-restart-%d.db", n))
	if _, err := os.Stat(path); err != nil {
		fillQueue(t, path, n)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("queue file %s: %d messages, %d MiB", path, n, fi.Size()>>20)
	for run := 0; run < 3; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRestartLargeQueue$", "-test.v")
		cmd.Env = append(os.Environ(), "QSEND_RESTART_CHILD="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "RESTART ") {
				t.Log(strings.TrimSpace(line[strings.Index(line, "RESTART "):]))
			}
		}
	}
}

// fillQueue builds a queue file of n messages of 1 KB, all due.
func fillQueue(t *testing.T, path string, n int) {
	tmp := path + ".building"
	os.Remove(tmp)
	st, err := store.Open(tmp, store.Options{BatchDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	body := "Subject: restart\n\n" + strings.Repeat("x", 1000) + "\n"
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < 200; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				_, err := st.Enqueue(context.Background(), store.NewMessage{
					Sender:     "bench@example.org",
					Recipients: []string{fmt.Sprintf("r%d@d%d.example.net", i, i%1000)},
					Intake:     store.Intake{Protocol: "qmail-queue", UID: 0, PID: w},
				}, strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("filled %d messages in %v", n, time.Since(start).Round(time.Millisecond))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// firstAttempt is a transport that reports its first call and then holds
// every attempt until the process exits, so the file is never changed.
type firstAttempt struct {
	once sync.Once
	at   chan time.Time
}

func (f *firstAttempt) Deliver(ctx context.Context, job delivery.Job) []store.Result {
	f.once.Do(func() { f.at <- time.Now() })
	<-ctx.Done()
	return nil
}

// restartChild opens the queue, runs the scheduler until its first attempt
// and prints the figures. It exits without closing anything: the parent
// reads the figures from its output.
func restartChild(t *testing.T, path string) {
	start := time.Now()
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Since(start)
	tr := &firstAttempt{at: make(chan time.Time, 1)}
	sched := delivery.New(delivery.Options{
		Store:             st,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		Remote:            tr,
		ConcurrencyRemote: 20,
		ConcurrencyLocal:  10,
		QueueLifetime:     7 * 24 * time.Hour,
	})
	go sched.Run(context.Background())
	select {
	case at := <-tr.at:
		fmt.Printf("RESTART open %v, open to first attempt %v, peak RSS %s, RSS %s\n",
			opened.Round(time.Microsecond), at.Sub(start).Round(time.Microsecond), procStatus("VmHWM"), procStatus("VmRSS"))
	case <-time.After(60 * time.Second):
		fmt.Println("RESTART no attempt within 60 s")
	}
	os.Stdout.Sync()
	os.Exit(0)
}

// procStatus returns a field of /proc/self/status, such as "VmHWM".
func procStatus(field string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
