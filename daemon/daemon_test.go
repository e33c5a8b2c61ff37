package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qsend/qsend/daemon/daemontest"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/store"
)

func TestSubmitAndList(t *testing.T) {
	l := daemontest.Start(t, nil).Layout
	c := ctl.NewClient(l.Socket)
	ctx := context.Background()
	body := "Subject: hi\n\n" + strings.Repeat("x", 600<<10) + "\n" // spills to tmp/
	id, err := c.Submit(ctx, 42, strings.NewReader(body), func() (envelope.Envelope, error) {
		return envelope.Envelope{Sender: "a@example.org", Recipients: []string{"b@example.net"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	if err := c.List(ctx, func(m store.Message) error { got = append(got, uint64(m.ID)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != uint64(id) {
		t.Fatalf("listed %v, want [%d]", got, id)
	}
	sh, err := c.Show(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sh.Header, "Received: (qmail ") || !strings.HasSuffix(sh.Header, "Subject: hi\n") {
		t.Fatalf("header %q", sh.Header)
	}
	if sh.Message.Size != int64(len(body)+strings.Index(sh.Header, "\n")+1) {
		t.Fatalf("size %d for a %d-byte body", sh.Message.Size, len(body))
	}
	entries, _ := os.ReadDir(l.Tmp)
	if len(entries) != 0 {
		t.Fatalf("scratch files left: %v", entries)
	}

	// An aborted submission queues nothing.
	_, err = c.Submit(ctx, 42, strings.NewReader("x"), func() (envelope.Envelope, error) {
		return envelope.Envelope{}, fmt.Errorf("no envelope")
	})
	if err == nil || err.Error() != "no envelope" {
		t.Fatalf("aborted submission: %v", err)
	}
	// An envelope the daemon refuses: exit code 11 travels back.
	_, err = c.Submit(ctx, 42, strings.NewReader("x"), func() (envelope.Envelope, error) {
		return envelope.Envelope{Sender: strings.Repeat("a", 2000), Recipients: []string{"b@c"}}, nil
	})
	var re *ctl.RemoteError
	if !errors.As(err, &re) || re.Code != 11 {
		t.Fatalf("long sender: %v", err)
	}
	st, err := c.Stat(ctx)
	if err != nil || st.Messages != 1 {
		t.Fatalf("stat %+v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(l.Dir, "queue.db")); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSubmitSocket measures durable enqueue throughput through the
// control socket with 50 concurrent writers of 2 KB messages, each on its
// own connection, as 50 qmail-queue processes would be.
func BenchmarkSubmitSocket(b *testing.B) {
	l := daemontest.Start(b, nil).Layout
	c := ctl.NewClient(l.Socket)
	body := "Subject: bench\n\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", 32)
	env := envelope.Envelope{Sender: "bench@example.org", Recipients: []string{"sink@example.net"}}
	const writers = 50
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				_, err := c.Submit(context.Background(), 1, strings.NewReader(body), func() (envelope.Envelope, error) { return env, nil })
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func TestMetrics(t *testing.T) {
	addr := testlib.FreeAddr(t)
	l := daemontest.Start(t, map[string]string{"metrics.listen": addr}).Layout
	c := ctl.NewClient(l.Socket)
	if _, err := c.Submit(context.Background(), 1, strings.NewReader("Subject: m\n\nx\n"), func() (envelope.Envelope, error) {
		return envelope.Envelope{Sender: "a@example.org", Recipients: []string{"b@example.net"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"qsend_queue_messages 1", `qsend_deliveries_limit{channel="remote"} 0`, "qsend_remote_connections_total 0"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, b)
		}
	}
}
