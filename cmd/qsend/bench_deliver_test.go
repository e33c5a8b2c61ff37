package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/store"
)

// TestDeliverBench measures remote delivery by the real daemon: N messages
// of 2 KB are put in the queue while the daemon is stopped, then the daemon
// starts and delivers them to a sink on loopback (our smtptest server,
// pipelining, messages discarded), found through a DNS server on loopback.
// It runs with one destination and with 1,000, and reports messages per
// second and the daemon's peak memory. Run by scripts/bench-deliver.
func TestDeliverBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("QSEND_BENCH_DELIVER"))
	if n <= 0 {
		t.Skip("set QSEND_BENCH_DELIVER to the number of messages (scripts/bench-deliver)")
	}
	conc, _ := strconv.Atoi(os.Getenv("QSEND_BENCH_CONCURRENCY"))
	if conc <= 0 {
		conc = 100
	}
	for _, domains := range []int{1, 1000} {
		t.Run(fmt.Sprintf("destinations=%d", domains), func(t *testing.T) {
			r := deliverQueue(t, n, domains, conc)
			t.Logf("BENCH %d messages to %d destination(s), concurrencyremote %d: %v from daemon start to empty queue, %.0f msgs/s, %d connections, daemon peak RSS %s",
				n, domains, conc, r.elapsed.Round(time.Millisecond), float64(n)/r.elapsed.Seconds(), r.connections, r.peak)
		})
	}
}

// TestLargeQueueDrains: 20,000 messages queued before the daemon starts,
// all for one destination that can take only part of them at once, are
// all delivered. The scheduler's scan of the schedule once lost its place
// here when the remote channel filled and emptied within one batch, and
// the rest of the queue waited for nothing.
func TestLargeQueueDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	deliverQueue(t, 20000, 1, 100)
}

// delivered is what deliverQueue measured.
type delivered struct {
	elapsed     time.Duration
	connections int
	peak        string
}

// deliverQueue queues n messages of 2 KB for the given number of
// destination domains while the daemon is stopped, starts it with
// concurrencyremote conc, and waits until the sink has every message.
func deliverQueue(t *testing.T, n, domains, conc int) delivered {
	w := newRemoteWorld(t)
	w.dns.Add("mx.sink.test. 3600 IN A 127.0.0.2")
	for d := 0; d < domains; d++ {
		w.dns.Add(fmt.Sprintf("d%d.test. 3600 IN MX 10 mx.sink.test.", d))
	}
	sink := w.server(t, "127.0.0.2", smtptest.Config{Pipelining: true, EightBitMIME: true, Discard: true})
	s := newSite(t)
	s.writeRawConfig(fmt.Sprintf("dns:\n  resolvers: [%q]\nremote:\n  port: %d\n  destination_concurrency: %d\nconcurrencyremote: %d\n",
		w.dns.Addr, w.port, conc, conc))
	fill(t, ctl.LayoutOf(s.stateDir).Queue, n, domains)

	start := time.Now()
	d := s.startDaemon()
	c := ctl.NewClient(ctl.LayoutOf(s.stateDir).Socket)
	for {
		st, err := c.Stat(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Messages == 0 {
			break
		}
		if time.Since(start) > 3*time.Minute {
			t.Fatalf("%d messages left after 3 minutes (the sink has %d)", st.Messages, sink.Count())
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := delivered{elapsed: time.Since(start), connections: sink.Connections(), peak: procField(d.cmd.Process.Pid, "VmHWM")}
	d.stop(syscall.SIGTERM)
	if sink.Count() != n {
		t.Fatalf("sink got %d messages, want %d", sink.Count(), n)
	}
	return r
}

// fill puts n messages of 2 KB into the queue file directly, spread over
// the given number of destination domains.
func fill(t *testing.T, path string, n, domains int) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(path, store.Options{BatchDelay: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	body := bodyFor("bench")
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				_, err := st.Enqueue(context.Background(), store.NewMessage{
					Sender:     "bench@test.example",
					Recipients: []string{fmt.Sprintf("r%d@d%d.test", i, int(i)%domains)},
					Intake:     store.Intake{Protocol: "qmail-queue", UID: 0},
				}, strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// procField reads a field of /proc/PID/status.
func procField(pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "?"
}
