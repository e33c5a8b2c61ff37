package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/remote/postfixtest"
	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
)

// relaySessions is smtp-source's parallel sessions, and the concurrency
// of both relays towards the sink (Postfix's
// smtp_destination_concurrency_limit, qsend's
// remote.destination_concurrency).
const relaySessions = 20

// relayDomain is the domain both relays send to the sink.
const relayDomain = "sink.test"

// TestRelayBench measures relaying: Postfix's smtp-source sends N
// messages over 20 parallel sessions to qsend (the real daemon with an
// smtp listener, relaying by smtproutes to a sink), then the same load to
// a private Postfix relaying to the same sink (relayhost), for 2 KB and
// 100 KB messages. The rate is N divided by the time from smtp-source's
// start until the sink has received all N. It then measures the daemon's
// memory with 10,000 idle client connections. Run by scripts/bench-relay;
// Postfix needs root.
func TestRelayBench(t *testing.T) {
	if os.Getenv("QSEND_BENCH_RELAY") == "" {
		t.Skip("set QSEND_BENCH_RELAY=1 (scripts/bench-relay)")
	}
	tools := needTools(t, "smtp-source")
	sink := smtptest.Start(t, "127.0.0.1:0", smtptest.Config{Pipelining: true, EightBitMIME: true, Discard: true})

	// qsend: loopback clients may relay when rcpthosts is absent (smtpd's
	// default, smtpd/rcpthosts.go), which is what RELAYCLIENT would give.
	s := newSite(t)
	conf, addrs := smtpdConfig(t, []string{"smtp"}, "max_connections: 20000", "max_per_client: 20000")
	s.writeConfig(conf + fmt.Sprintf("concurrencyremote: 100\nremote:\n  destination_concurrency: %d\nsmtproutes: [\"%s:%s\"]\n",
		relaySessions, relayDomain, sink.Addr()))
	d := s.startDaemon()

	pf := postfixtest.Start(t, postfixtest.Options{Domain: "pf.test", Main: map[string]string{
		"mynetworks":               "127.0.0.0/8",
		"smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
		"relayhost":                "[" + sink.Addr().Addr().String() + "]:" + strconv.Itoa(int(sink.Addr().Port())),
		"default_process_limit":    "200",
		// Postfix at full concurrency from the first delivery, as
		// qsend is: the comparison is against its best case.
		"smtp_destination_concurrency_limit": strconv.Itoa(relaySessions),
		"initial_destination_concurrency":    strconv.Itoa(relaySessions),
	}})

	perf := os.Getenv("QSEND_BENCH_RELAY_PERF")
	for _, c := range []struct {
		name string
		size int
		env  string
		n    int
	}{
		{"2 KB", 2 << 10, "QSEND_BENCH_RELAY_N2K", 5000},
		{"100 KB", 100 << 10, "QSEND_BENCH_RELAY_N100K", 1000},
	} {
		n := c.n
		if v, err := strconv.Atoi(os.Getenv(c.env)); err == nil && v > 0 {
			n = v
		}
		label := fmt.Sprintf("relay %s x %d, %d sessions", c.name, n, relaySessions)
		var stopPerf func()
		if perf != "" {
			stopPerf = perfRecord(t, d.cmd.Process.Pid, fmt.Sprintf("%s-%dk.data", perf, c.size>>10))
		}
		q := relayRun(t, tools["smtp-source"], addrs["smtp"], sink, n, c.size)
		if stopPerf != nil {
			stopPerf()
		}
		t.Logf("BENCH %s: qsend %v end to end, %.0f msgs/s (smtp-source done after %v), daemon peak RSS %s",
			label, q.elapsed.Round(time.Millisecond), q.rate(n), q.sent.Round(time.Millisecond), procField(d.cmd.Process.Pid, "VmHWM"))
		p := relayRun(t, tools["smtp-source"], pf.Addr().String(), sink, n, c.size)
		t.Logf("BENCH %s: postfix %v end to end, %.0f msgs/s (smtp-source done after %v)",
			label, p.elapsed.Round(time.Millisecond), p.rate(n), p.sent.Round(time.Millisecond))
		target := 3.0
		if c.size > 2<<10 {
			target = 2
		}
		t.Logf("BENCH %s: qsend/postfix %.2f (target %.0f)", label, q.rate(n)/p.rate(n), target)
	}
	if n := len(s.listJSON()); n != 0 {
		t.Errorf("%d messages left in qsend's queue", n)
	}
	d.stop(syscall.SIGTERM)

	idleConnections(t, 10000)
}

// relayResult is one run of smtp-source through a relay.
type relayResult struct {
	sent    time.Duration // until smtp-source exited: every message accepted
	elapsed time.Duration // until the sink had every message
}

func (r relayResult) rate(n int) float64 { return float64(n) / r.elapsed.Seconds() }

// relayRun sends n messages of size bytes with smtp-source to addr and
// waits until the sink has received them.
func relayRun(t *testing.T, smtpSource, addr string, sink *smtptest.Server, n, size int) relayResult {
	t.Helper()
	want := sink.Count() + n
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, smtpSource, "-s", strconv.Itoa(relaySessions), "-m", strconv.Itoa(n), "-l", strconv.Itoa(size),
		"-f", "bench@source.test", "-t", "rcpt@"+relayDomain, "-c", "inet:"+addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("smtp-source to %s: %v\n%s", addr, err, tail(out.String(), 2000))
	}
	r := relayResult{sent: time.Since(start)}
	for sink.Count() < want {
		if ctx.Err() != nil {
			t.Fatalf("the sink has %d of %d messages after %v", sink.Count()-want+n, n, time.Since(start))
		}
		time.Sleep(2 * time.Millisecond)
	}
	r.elapsed = time.Since(start)
	return r
}

// tail returns the last max bytes of s.
func tail(s string, max int) string {
	if len(s) > max {
		return "..." + s[len(s)-max:]
	}
	return s
}

// perfRecord samples pid's stacks with Linux perf into file until the
// returned function is called; without perf it does nothing. The profile
// is read with `perf report -i file --no-children`.
func perfRecord(t *testing.T, pid int, file string) (stop func()) {
	t.Helper()
	p, err := exec.LookPath("perf")
	if err != nil {
		t.Logf("perf is not installed: no profile: %v", err)
		return func() {}
	}
	cmd := exec.Command(p, "record", "-q", "-F", "999", "-g", "-p", strconv.Itoa(pid), "-o", file)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // perf attaches
	return func() {
		// perf writes the file and ends on SIGINT, by that signal.
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		if _, err := os.Stat(file); err != nil {
			t.Logf("perf record: no profile: %v\n%s", err, out.String())
			return
		}
		t.Logf("profile of the daemon in %s", file)
	}
}

// idleConnections starts a daemon with an smtp listener, opens conns
// client connections to it that each read the greeting and then stay
// idle, and reports the daemon's resident memory before and after.
func idleConnections(t *testing.T, conns int) {
	// Both ends of every connection are in this machine: the test needs
	// a descriptor per connection, the daemon one more.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < uint64(conns)+1000 {
		t.Skipf("RLIMIT_NOFILE %d is too small for %d connections", lim.Cur, conns)
	}
	s := newSite(t)
	conf, addrs := smtpdConfig(t, []string{"smtp"}, fmt.Sprintf("max_connections: %d", 2*conns), fmt.Sprintf("max_per_client: %d", 2*conns))
	s.writeConfig(conf)
	d := s.startDaemon()
	pid := d.cmd.Process.Pid
	time.Sleep(time.Second) // settle after start
	before := procKB(t, pid, "VmRSS")

	open := make([]net.Conn, conns)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	work := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range work {
				c, err := greeted(addrs["smtp"])
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("connection %d: %w", i, err)
				}
				open[i] = c
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	for i := range conns {
		work <- i
	}
	close(work)
	wg.Wait()
	opened := time.Since(start)
	defer func() {
		for _, c := range open {
			if c != nil {
				c.Close()
			}
		}
	}()
	if firstErr != nil {
		t.Fatalf("%v\n%s", firstErr, tail(s.daemonLog(), 2000))
	}
	time.Sleep(time.Second) // settle
	after := procKB(t, pid, "VmRSS")
	t.Logf("BENCH idle connections: %d to the smtp listener (opened in %v), daemon VmRSS %d kB before, %d kB after, %.1f kB per connection",
		conns, opened.Round(time.Millisecond), before, after, float64(after-before)/float64(conns))
}

// greeted connects to addr and reads the 220 greeting.
func greeted(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && !strings.HasPrefix(line, "220 ") {
		err = fmt.Errorf("greeting %q", line)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetReadDeadline(time.Time{})
	return c, nil
}

// procKB reads a "NNN kB" field of /proc/PID/status.
func procKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	v := procField(pid, field)
	n, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
	if err != nil {
		t.Fatalf("/proc/%d/status %s: %q", pid, field, v)
	}
	return n
}
