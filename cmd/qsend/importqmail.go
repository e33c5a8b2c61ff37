package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/delivery/bounce"
	"github.com/qsend/qsend/delivery/rewrite"
	"github.com/qsend/qsend/intake"
	"github.com/qsend/qsend/intake/maildrop"
	"github.com/qsend/qsend/intake/qmailqueue"
	"github.com/qsend/qsend/internal/ctl"
	mailenv "github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/setup"
	"github.com/qsend/qsend/store"
)

// Exit statuses of import-qmail besides 0 (docs/install.md).
const (
	importExitSkipped = 1   // some damaged entries were skipped; the rest imported
	importExitRefused = 111 // nothing imported: qmail-send runs, or no qsend queue
)

// importProtocol is the Intake.Protocol of imported messages.
const importProtocol = "qmail-import"

// importProgressEvery is how many messages pass between progress lines.
const importProgressEvery = 1000

func (a *app) importQmailCmd() *cobra.Command {
	var dryRun, force, remove bool
	cmd := &cobra.Command{
		Use:   "import-qmail [QUEUE_DIR]",
		Short: "move a qmail queue's messages into qsend",
		Long: `Reads a qmail queue (default ` + qmailqueue.DefaultDir + `) as qmail-send left it and
queues each message's undone recipients in qsend with its sender and birth;
pending bounces become qsend bounces. Runs with the daemon up (through the
maildrop) or down (into the queue file). Refuses while qmail-send holds
lock/sendmutex unless --force. Importing twice imports nothing twice. The
qmail queue is left as it is unless --remove. Exit 1 when damaged entries
were skipped, 111 when nothing could be imported.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			dir := qmailqueue.DefaultDir
			if len(args) == 1 {
				dir = args[0]
			}
			cfg, _, err := a.loadConfig()
			if err != nil {
				return exitf(2, "configuration: %v", err)
			}
			return a.importQmail(context.Background(), cfg, dir, importOptions{dryRun: dryRun, force: force, remove: remove})
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be imported; change nothing")
	cmd.Flags().BoolVar(&force, "force", false, "import even while qmail-send holds lock/sendmutex")
	cmd.Flags().BoolVar(&remove, "remove", false, "remove each message from the qmail queue once imported")
	return cmd
}

type importOptions struct{ dryRun, force, remove bool }

// importTally counts what an import did.
type importTally struct {
	messages, bounces, already, incomplete, damaged int
}

// count adds one to n, or to already for a message imported before.
func (t *importTally) count(dup bool, n *int) {
	if dup {
		t.already++
		return
	}
	*n++
}

func (a *app) importQmail(ctx context.Context, cfg *config.Config, dir string, o importOptions) error {
	q, err := qmailqueue.Open(dir)
	if err != nil {
		return exitf(importExitRefused, "import-qmail: %v", err)
	}
	locked, err := q.SendLocked()
	if err != nil {
		return exitf(importExitRefused, "import-qmail: %v", err)
	}
	if locked && !o.force {
		return exitf(importExitRefused, "import-qmail: a qmail-send is running on %s (it holds lock/sendmutex): stop it first, or use --force", dir)
	}
	rules, err := rewrite.New(cfg.EnvNoAtHost, cfg.Locals, cfg.PercentHack, cfg.VirtualDomains)
	if err != nil {
		return exitf(2, "configuration: %v", err)
	}
	im := &importer{q: q, rules: rules, prepends: prepends(cfg.VirtualDomains), bounce: setup.SchedulerOptions(cfg).Bounce, out: a.stdout}
	if !o.dryRun {
		if im.sink, err = openSink(ctl.LayoutOf(cfg.StateDir)); err != nil {
			return exitf(importExitRefused, "import-qmail: %v", err)
		}
		defer im.sink.close()
	}
	nums, err := q.Nums()
	if err != nil {
		return exitf(importExitRefused, "import-qmail: %v", err)
	}
	start := time.Now()
	t, err := im.all(ctx, nums, o, a.stderr)
	if err != nil {
		return exitf(importExitRefused, "import-qmail: %v (%d messages imported before it; importing again imports the rest)", err, t.messages)
	}
	verb := "imported"
	if o.dryRun {
		verb = "would import"
	}
	fmt.Fprintf(a.stdout, "import-qmail: %s %d messages and %d bounces from %s in %v; %d already imported, %d incomplete, %d damaged and skipped\n",
		verb, t.messages, t.bounces, dir, time.Since(start).Round(time.Millisecond), t.already, t.incomplete, t.damaged)
	if t.damaged > 0 {
		return exitf(importExitSkipped, "")
	}
	return nil
}

// importWorkers is how many messages are imported at once: each import is
// a commit of its own, and concurrent ones share their fsync (the store's
// group commit, the maildrop's independent files).
const importWorkers = 16

// all imports the messages nums with importWorkers workers, writing a
// progress line to progress every importProgressEvery messages. It stops
// at the first error that is not a skipped entry.
func (im *importer) all(ctx context.Context, nums []uint64, o importOptions, progress io.Writer) (importTally, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan uint64)
	var (
		mu    sync.Mutex
		total importTally
		done  int
		first error
		wg    sync.WaitGroup
	)
	for range importWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for num := range work {
				t, err := im.one(ctx, num, o)
				mu.Lock()
				total.add(t)
				done++
				if err != nil && first == nil {
					first = fmt.Errorf("message %d: %w", num, err)
					cancel()
				}
				if done%importProgressEvery == 0 && done < len(nums) {
					im.printfTo(progress, "import-qmail: %d of %d messages read, %d imported\n", done, len(nums), total.messages)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, num := range nums {
		select {
		case work <- num:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return total, first
}

func (im *importer) printfTo(w io.Writer, format string, args ...any) {
	im.mu.Lock()
	defer im.mu.Unlock()
	fmt.Fprintf(w, format, args...)
}

// importer moves one qmail message at a time.
type importer struct {
	q        *qmailqueue.Queue
	rules    *rewrite.Rules
	prepends []string
	bounce   bounce.Settings
	sink     sink
	mu       sync.Mutex // serialises writes to out
	out      io.Writer
}

func (im *importer) printf(format string, args ...any) {
	im.mu.Lock()
	defer im.mu.Unlock()
	fmt.Fprintf(im.out, format, args...)
}

// add adds u to t.
func (t *importTally) add(u importTally) {
	t.messages += u.messages
	t.bounces += u.bounces
	t.already += u.already
	t.incomplete += u.incomplete
	t.damaged += u.damaged
}

// one imports message num: its undone recipients, then its pending bounce.
func (im *importer) one(ctx context.Context, num uint64, o importOptions) (importTally, error) {
	var t importTally
	err := im.oneInto(ctx, num, o, &t)
	return t, err
}

func (im *importer) oneInto(ctx context.Context, num uint64, o importOptions, t *importTally) error {
	m, err := im.q.Read(num)
	var sk *qmailqueue.Skipped
	if errors.As(err, &sk) {
		if sk.Damaged {
			t.damaged++
			im.printf("import-qmail: damaged, skipped: %v\n", sk)
		} else {
			t.incomplete++
			im.printf("import-qmail: skipped: %v\n", sk)
		}
		return nil
	}
	if err != nil {
		return err
	}
	fi, err := os.Stat(m.Mess)
	if err != nil {
		return err
	}
	// The message file is written once by qmail-queue: its number and
	// mtime name it across qmail-send's processing of todo into info.
	key := "qmail:" + strconv.FormatUint(num, 10) + ":" + strconv.FormatInt(fi.ModTime().UnixNano(), 10)
	rcpts := im.undone(m)
	if o.dryRun {
		if len(rcpts) > 0 {
			t.messages++
			im.printf("message %d: born %s from <%s> to %s\n", num, m.Born.UTC().Format(time.RFC3339), m.Sender, strings.Join(rcpts, ", "))
		}
		if len(m.Bounced) > 0 {
			t.bounces++
			im.printf("message %d: bounce to <%s> for %d recipients\n", num, m.Sender, len(m.Bounced))
		}
		return nil
	}
	if len(rcpts) > 0 {
		nm := store.NewMessage{Sender: m.Sender, Recipients: rcpts, Born: m.Born, DedupeKey: key,
			Intake: store.Intake{Protocol: importProtocol, UID: m.UID, PID: m.PID}}
		if err := intake.Validate(mailenv.Envelope{Sender: nm.Sender, Recipients: nm.Recipients}); err != nil {
			t.damaged++
			im.printf("import-qmail: damaged, skipped: %s: %v\n", m.Mess, err)
			return nil
		}
		dup, err := im.put(ctx, nm, m.Mess, nil)
		if err != nil {
			return err
		}
		t.count(dup, &t.messages)
	}
	if len(m.Bounced) > 0 {
		dup, err := im.putBounce(ctx, m, key)
		if err != nil {
			return err
		}
		t.count(dup, &t.bounces)
	}
	if o.remove {
		return im.q.Remove(num)
	}
	return nil
}

// putBounce queues the bounce qmail-send owed for m's failed recipients,
// composed as qsend composes its own (qmail-send.c injectbounce).
func (im *importer) putBounce(ctx context.Context, m qmailqueue.Message, key string) (bool, error) {
	failed := make([]store.Recipient, len(m.Bounced))
	for i, f := range m.Bounced {
		failed[i] = store.Recipient{Addr: f.Addr, State: store.Failed, LastResult: strings.TrimRight(f.Report, "\n")}
	}
	orig := store.Message{Sender: m.Sender, Born: m.Born, Intake: store.Intake{Protocol: importProtocol, UID: m.UID, PID: m.PID}}
	body, err := os.Open(m.Mess)
	if err != nil {
		return false, err
	}
	defer body.Close()
	nm, r, kind := bounce.Compose(im.bounce, orig, failed, body, time.Now(), os.Getpid())
	if kind == bounce.Discard || kind == bounce.DiscardDouble {
		return false, nil
	}
	nm.DedupeKey = key + ":bounce"
	return im.put(ctx, nm, "", r)
}

// put queues nm with the body in file (or from r); it reports whether it
// was imported before.
func (im *importer) put(ctx context.Context, nm store.NewMessage, file string, r io.Reader) (bool, error) {
	if r == nil {
		f, err := os.Open(file)
		if err != nil {
			return false, err
		}
		defer f.Close()
		r = f
	}
	return im.sink.put(ctx, nm, r)
}

// undone returns m's recipients still to deliver, as they were addressed:
// a virtual domain's local recipient loses the prepend qmail-send gave it
// if the current virtualdomains give it the same one (qmail-send.c
// rewrite), so qsend routes it again from the current control files.
func (im *importer) undone(m qmailqueue.Message) []string {
	out := append([]string(nil), m.Remote...)
	for _, a := range m.Local {
		out = append(out, im.unprepend(a))
	}
	return out
}

func (im *importer) unprepend(addr string) string {
	for _, p := range im.prepends {
		rest, ok := strings.CutPrefix(addr, p+"-")
		if !ok {
			continue
		}
		if local, out := im.rules.Rewrite(rest); local && out == addr {
			return rest
		}
	}
	return addr
}

// prepends returns the distinct prepends of virtualdomains lines.
func prepends(lines []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lines {
		if _, p, ok := strings.Cut(l, ":"); ok && p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// sink is where imported messages go: the queue file when no daemon holds
// it, else the maildrop the daemon imports.
type sink interface {
	put(ctx context.Context, nm store.NewMessage, body io.Reader) (dup bool, err error)
	close()
}

// openSink opens the queue file directly, or, when a daemon holds it, the
// maildrop. A state_dir no daemon set up is refused, as intake refuses it.
func openSink(l ctl.Layout) (sink, error) {
	if _, err := os.Stat(l.Maildrop); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no qsend daemon has set up the queue in %s (no %s): run `qsend install` and start the daemon once, or name the queue with --config or --state-dir", l.Dir, l.Maildrop)
	}
	st, err := store.Open(l.Queue, store.Options{LockTimeout: 200 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return &maildropSink{l: l}, nil
	}
	if err != nil {
		return nil, err
	}
	return storeSink{st}, nil
}

type storeSink struct{ st *store.Store }

func (s storeSink) put(ctx context.Context, nm store.NewMessage, body io.Reader) (bool, error) {
	_, err := s.st.Enqueue(ctx, nm, body)
	if errors.Is(err, store.ErrDuplicate) {
		return true, nil
	}
	return false, err
}

func (s storeSink) close() { s.st.Close() }

// maildropSink leaves each message in the maildrop with its import facts
// (maildrop.Import); the daemon queues it, once per key.
type maildropSink struct {
	l       ctl.Layout
	written atomic.Bool
}

func (s *maildropSink) put(_ context.Context, nm store.NewMessage, body io.Reader) (bool, error) {
	_, err := maildrop.Write(s.l.Maildrop, body, func() (maildrop.Entry, error) {
		return maildrop.Entry{PID: nm.Intake.PID, Sender: nm.Sender, Recipients: nm.Recipients,
			Import: &maildrop.Import{Key: nm.DedupeKey, Born: nm.Born, Protocol: nm.Intake.Protocol, UID: nm.Intake.UID}}, nil
	})
	if err == nil {
		s.written.Store(true)
	}
	return false, err
}

func (s *maildropSink) close() {
	if s.written.Load() {
		maildrop.Trigger(s.l.Trigger)
	}
}
