package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/store"
)

// listJSON returns `queue list --json` decoded.
func (s *site) listJSON() []listedMessage {
	s.t.Helper()
	var out []listedMessage
	sc := bufio.NewScanner(strings.NewReader(s.mustRun("queue", "list", "--json")))
	for sc.Scan() {
		var m listedMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			s.t.Fatalf("queue list --json: %v: %q", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

func TestQmailQueueWithAndWithoutDaemon(t *testing.T) {
	s := newSite(t)
	d := s.startDaemon()
	msg1 := "Subject: one\n\nfirst body\n"
	if code, errOut := s.queue(msg1, envelope("alice@example.org", "bob@example.net", "carol@example.com")); code != 0 {
		t.Fatalf("qmail-queue with the daemon running: exit %d: %s", code, errOut)
	}
	list := s.listJSON()
	if len(list) != 1 || list[0].Sender != "alice@example.org" || len(list[0].Recipients) != 2 {
		t.Fatalf("queue after first message: %+v", list)
	}
	for _, r := range list[0].Recipients {
		if r.State != "pending" || r.Attempts != 0 || r.NextAttempt == nil {
			t.Fatalf("recipient %+v", r)
		}
	}
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("daemon exit after SIGTERM: %v\n%s", err, s.daemonLog())
	}

	// Daemon down: the message goes to the maildrop and still gets exit 0.
	msg2 := "Subject: two\n\nsecond body\n"
	if code, errOut := s.queue(msg2, envelope("", "dave@example.net")); code != 0 {
		t.Fatalf("qmail-queue with the daemon stopped: exit %d: %s", code, errOut)
	}
	if got := s.mustRun("queue", "stat"); got != "messages in queue: 2\nmessages in queue but not yet preprocessed: 1\n" {
		t.Fatalf("queue stat while stopped:\n%s", got)
	}
	if got := s.listJSON(); len(got) != 1 {
		t.Fatalf("queue list while stopped shows %d messages, want 1", len(got))
	}

	// The daemon imports the maildrop at start.
	d = s.startDaemon()
	s.mustRun("queue", "flush") // waits for an import
	list = s.listJSON()
	if len(list) != 2 || list[1].Sender != "" || list[1].Recipients[0].Address != "dave@example.net" {
		t.Fatalf("queue after restart: %+v", list)
	}
	if got := s.mustRun("queue", "stat"); got != "messages in queue: 2\nmessages in queue but not yet preprocessed: 0\n" {
		t.Fatalf("queue stat:\n%s", got)
	}
	show := s.mustRun("queue", "show", strconv.FormatUint(uint64(list[1].ID), 10))
	for _, want := range []string{
		"sender:   <>",
		"<dave@example.net>  pending, 0 attempts, next ",
		"intake:   maildrop uid " + strconv.Itoa(os.Getuid()),
		"  Received: (qmail ",
		"  Subject: two",
	} {
		if !strings.Contains(show, want) {
			t.Errorf("queue show lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(show, "second body") {
		t.Errorf("queue show printed the body:\n%s", show)
	}

	// qmail-qread's layout, through the argv[0] link.
	out, _, code := s.run("", "qmail-qread")
	re := regexp.MustCompile(`^\d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d GMT  #\d+  \d+  <alice@example.org> \n\tremote\tbob@example.net\n\tremote\tcarol@example.com\n\d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d GMT  #\d+  \d+  <> \n\tremote\tdave@example.net\n$`)
	if code != 0 || !re.MatchString(out) {
		t.Fatalf("qmail-qread (exit %d):\n%s", code, out)
	}
	out, _, _ = s.run("", "qmail-qstat")
	if out != "messages in queue: 2\nmessages in queue but not yet preprocessed: 0\n" {
		t.Fatalf("qmail-qstat:\n%s", out)
	}
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	log := s.daemonLog()
	for _, want := range []string{"new msg ", "info msg ", ": bytes ", " from <alice@example.org> qp ", "status: exiting"} {
		if !strings.Contains(log, want) {
			t.Errorf("daemon log lacks %q:\n%s", want, log)
		}
	}
}

func TestQmailQueueRefusals(t *testing.T) {
	s := newSite(t)
	s.startDaemon()
	long := strings.Repeat("x", 1003)
	tests := []struct {
		name     string
		envelope []byte
		code     int
	}{
		{"no F record", []byte("Ta@b\x00\x00"), 91},
		{"bad record", []byte("Fa@b\x00Xc@d\x00\x00"), 91},
		{"no recipients", []byte("Fa@b\x00\x00"), 91},
		{"address too long", envelope("a@b", long), 11},
		{"envelope cut short", []byte("Fa@b\x00Tc@d\x00"), 54},
		{"empty envelope", nil, 54},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, errOut := s.queue("Subject: x\n\nbody\n", tt.envelope)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (%s)", code, tt.code, errOut)
			}
			if !strings.Contains(errOut, "qmail-queue:") {
				t.Errorf("no diagnostic on stderr: %q", errOut)
			}
		})
	}
	if got := s.listJSON(); len(got) != 0 {
		t.Fatalf("refused messages were queued: %+v", got)
	}
}

func TestQmailQueueNoStateDir(t *testing.T) {
	s := newSite(t) // the daemon never ran: no state_dir, no maildrop
	code, errOut := s.queue("Subject: x\n\nbody\n", envelope("a@b", "c@d"))
	if code != 111 || !strings.Contains(errOut, "maildrop") || !strings.Contains(errOut, s.stateDir) || !strings.Contains(errOut, "qsend install") {
		t.Fatalf("exit %d, want 111 naming the state_dir, the maildrop and what to do: %s", code, errOut)
	}
}

func TestQueueCommands(t *testing.T) {
	s := newSite(t)
	s.startDaemon()
	for i := 0; i < 3; i++ {
		if code, errOut := s.queue(fmt.Sprintf("Subject: %d\n\nbody\n", i), envelope("s@example.org", fmt.Sprintf("r%d@example.net", i))); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	}
	list := s.listJSON()
	id := func(i int) string { return strconv.FormatUint(uint64(list[i].ID), 10) }

	s.mustRun("queue", "hold", id(0))
	if got := s.listJSON(); !got[0].Held || got[1].Held {
		t.Fatalf("after hold: %+v", got)
	}
	if out := s.mustRun("queue", "list"); !strings.Contains(out, "<s@example.org>  held\n") {
		t.Fatalf("held message not marked:\n%s", out)
	}
	s.mustRun("queue", "release", id(0))
	if got := s.listJSON(); got[0].Held {
		t.Fatalf("after release: %+v", got)
	}
	s.mustRun("queue", "flush", id(1))
	s.mustRun("queue", "delete", id(2))
	if got := s.listJSON(); len(got) != 2 {
		t.Fatalf("after delete: %d messages", len(got))
	}

	// Unknown ids: a clear error and exit 1, the known ones still done.
	_, errOut, code := s.run("", "qsend", "queue", "hold", id(1), "999999")
	if code != 1 || !strings.Contains(errOut, "999999") {
		t.Fatalf("hold of an unknown id: exit %d: %s", code, errOut)
	}
	if got := s.listJSON(); !got[1].Held {
		t.Fatalf("the known id was not held: %+v", got[1])
	}
	_, errOut, code = s.run("", "qsend", "queue", "show", "999999")
	if code != 1 || !strings.Contains(errOut, "999999") {
		t.Fatalf("show of an unknown id: exit %d: %s", code, errOut)
	}
	_, errOut, code = s.run("", "qsend", "queue", "show", "abc")
	if code != 1 || !strings.Contains(errOut, "abc") {
		t.Fatalf("show of a malformed id: exit %d: %s", code, errOut)
	}

	// Bouncing gives up on the message, held or not: it leaves the queue
	// and a bounce to its sender takes its place.
	s.mustRun("queue", "hold", id(0))
	s.mustRun("queue", "bounce", id(0))
	waitFor(t, "the bounce", func() bool {
		got := s.listJSON()
		for _, m := range got {
			if m.ID == list[0].ID {
				return false
			}
		}
		return len(got) == 2 && got[1].Sender == "" && got[1].Recipients[0].Address == "s@example.org"
	})
}

func TestConfigErrorStopsDaemonBeforeTheQueue(t *testing.T) {
	s := newSite(t)
	s.writeControl("concurrencyremote", "lots\n")
	s.writeRawConfig("") // nothing in the YAML overrides the control file
	_, errOut, code := s.run("", "qsend", "daemon")
	if code == 0 || !strings.Contains(errOut, "concurrencyremote") || !strings.Contains(errOut, ":1") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(s.stateDir); !os.IsNotExist(err) {
		t.Fatalf("state_dir was touched: %v", err)
	}
	s.writeControl("concurrencyremote", "20\n")
	s.writeConfig("queuelifetime: forever\n")
	_, errOut, code = s.run("", "qsend", "daemon")
	if code == 0 || !strings.Contains(errOut, "queuelifetime") || !strings.Contains(errOut, s.confFile) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	s.writeConfig("no_such_key: 1\n")
	_, errOut, code = s.run("", "qsend", "daemon")
	if code == 0 || !strings.Contains(errOut, "no_such_key") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestReloadKeepsOldConfigurationOnError(t *testing.T) {
	s := newSite(t)
	d := s.startDaemon()
	s.writeConfig("concurrencyremote: many\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the failed reload in the log", func() bool {
		return strings.Contains(s.daemonLog(), "reload failed, keeping the old configuration")
	})
	// The daemon still runs and answers; the programs that read the broken
	// file themselves refuse to work, naming it.
	if _, err := ctl.NewClient(ctl.LayoutOf(s.stateDir).Socket).Stat(context.Background()); err != nil {
		t.Fatalf("daemon unusable after a failed reload: %v", err)
	}
	if code, errOut := s.queue("Subject: x\n\nbody\n", envelope("a@b", "c@d")); code != 55 || !strings.Contains(errOut, s.confFile) {
		t.Fatalf("qmail-queue with a broken configuration: exit %d: %s", code, errOut)
	}
	s.writeConfig("concurrencyremote: 40\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload in the log", func() bool {
		return strings.Contains(s.daemonLog(), "configuration reloaded")
	})
	if code, errOut := s.queue("Subject: x\n\nbody\n", envelope("a@b", "c@d")); code != 0 {
		t.Fatalf("qmail-queue after the reload: exit %d: %s", code, errOut)
	}
	d.cmd.Process.Signal(syscall.SIGALRM)
	waitFor(t, "SIGALRM in the log", func() bool { return strings.Contains(s.daemonLog(), "SIGALRM") })
	if err := d.stop(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
}

// TestKillDuringIntake kills the daemon with SIGKILL while many qmail-queue
// processes submit at once, restarts it, and checks that every message that
// got exit 0 is in the queue exactly once with its body intact.
func TestKillDuringIntake(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	s := newSite(t)
	d := s.startDaemon()
	const workers, perWorker = 16, 60
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	killAt := make(chan struct{})
	var once sync.Once
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				token := fmt.Sprintf("w%d-m%d", w, i)
				code, _ := s.queue(bodyFor(token), envelope("kill@example.org", token+"@example.net"))
				mu.Lock()
				if code == 0 {
					acked[token] = true
					if len(acked) == workers*perWorker/3 {
						once.Do(func() { close(killAt) })
					}
				}
				mu.Unlock()
			}
		}(w)
	}
	<-killAt
	d.cmd.Process.Kill()
	<-d.done
	time.Sleep(300 * time.Millisecond) // some submissions find no daemon
	d = s.startDaemon()
	wg.Wait()
	s.mustRun("queue", "flush") // import whatever reached the maildrop
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	st, err := store.Open(ctl.LayoutOf(s.stateDir).Queue, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seen := map[string]int{}
	viaMaildrop := 0
	err = st.Walk(func(m store.Message) error {
		if m.Intake.Protocol == "maildrop" {
			viaMaildrop++
		}
		token := strings.TrimSuffix(m.Recipients[0].Addr, "@example.net")
		seen[token]++
		b, err := storedBody(st, m.ID)
		if err != nil {
			return err
		}
		_, rest, ok := strings.Cut(string(b), "\n") // the Received line qsend added
		if !ok || !strings.HasPrefix(string(b), "Received: (qmail ") || rest != bodyFor(token) {
			t.Errorf("message %d (%s): body damaged: %d bytes", m.ID, token, len(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for token := range acked {
		if seen[token] != 1 {
			t.Errorf("acknowledged message %s is in the queue %d times", token, seen[token])
		}
	}
	for token, n := range seen {
		if n > 1 {
			t.Errorf("message %s is in the queue %d times", token, n)
		}
	}
	t.Logf("%d submissions, %d acknowledged, %d queued (%d through the maildrop while the daemon was down)",
		workers*perWorker, len(acked), len(seen), viaMaildrop)
	if err := st.Check(); err != nil {
		t.Fatalf("queue file check after SIGKILL: %v", err)
	}
}

// bodyFor is a 2 KB message that names its token.
func bodyFor(token string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Subject: %s\nMessage-ID: <%s@test>\n\n", token, token)
	for b.Len() < 2048 {
		fmt.Fprintf(&b, "%s line %d of a body that must arrive intact\n", token, b.Len())
	}
	return b.String()
}

// waitFor polls cond until it holds, failing the test after 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestQueueListChannels: qmail-qread's local/remote column follows
// qmail-send's rewrite (locals defaults to me; envnoathost completes bare
// names; virtualdomains).
func TestQueueListChannels(t *testing.T) {
	s := newSite(t)
	s.writeControl("virtualdomains", "lists.example.org:lists\n")
	s.startDaemon()
	if code, errOut := s.queue("Subject: x\n\nbody\n", envelope("a@b", "postmaster", "joe@test.example", "l@lists.example.org", "far@example.net")); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	out := s.mustRun("queue", "list")
	for _, want := range []string{"\tlocal\tpostmaster\n", "\tlocal\tjoe@test.example\n", "\tlocal\tl@lists.example.org\n", "\tremote\tfar@example.net\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("queue list lacks %q:\n%s", want, out)
		}
	}
}
