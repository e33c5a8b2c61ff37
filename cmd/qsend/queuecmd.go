package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/daemon"
	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/setup"
	"github.com/qsend/qsend/store"
)

// queueBackend answers the queue commands: the daemon through its socket,
// or the queue file itself when no daemon runs. Both give the same answers,
// so the commands print the same either way.
type queueBackend interface {
	List(ctx context.Context, fn func(store.Message) error) error
	Stat(ctx context.Context) (ctl.Stat, error)
	Show(ctx context.Context, id store.ID) (ctl.Shown, error)
	Apply(ctx context.Context, op string, ids []store.ID) ([]ctl.IDError, error)
}

// offline is the queue file opened directly, when no daemon runs.
type offline struct {
	layout ctl.Layout
	st     *store.Store
}

func (o *offline) List(_ context.Context, fn func(store.Message) error) error {
	return o.st.WalkAll(fn)
}

func (o *offline) Stat(context.Context) (ctl.Stat, error) { return daemon.Stat(o.st, o.layout) }

func (o *offline) Show(_ context.Context, id store.ID) (ctl.Shown, error) {
	return daemon.Show(o.st, id)
}

// Apply changes the file as the daemon would; flushing reschedules the
// messages to be tried as soon as the daemon starts.
func (o *offline) Apply(_ context.Context, op string, ids []store.ID) ([]ctl.IDError, error) {
	now := time.Now()
	if op == ctl.OpFlush && len(ids) == 0 {
		// A damaged record cannot be flushed; the others are.
		var de *store.DamageError
		if err := o.st.WalkAll(func(m store.Message) error { ids = append(ids, m.ID); return nil }); err != nil && !errors.As(err, &de) {
			return nil, err
		}
	}
	var fn func(store.ID) error
	switch op {
	case ctl.OpFlush:
		fn = func(id store.ID) error { return o.st.Reschedule(id, now) }
	case ctl.OpHold:
		fn = func(id store.ID) error { return o.st.SetHeld(id, true) }
	case ctl.OpRelease:
		fn = func(id store.ID) error { return o.st.SetHeld(id, false) }
	case ctl.OpDelete:
		fn = o.st.Delete
	case ctl.OpBounce:
		fn = func(id store.ID) error { _, err := delivery.GiveUp(o.st, id, now); return err }
	default:
		return nil, fmt.Errorf("unknown operation %q", op)
	}
	var failed []ctl.IDError
	for _, id := range ids {
		if err := fn(id); err != nil {
			failed = append(failed, ctl.IDError{ID: id, Error: err.Error()})
		}
	}
	return failed, nil
}

// withBackend runs fn on the daemon, or on the queue file when no daemon
// runs (read-only, with a shared lock, unless write).
func (a *app) withBackend(write bool, fn func(queueBackend, *config.Config) error) error {
	cfg, _, err := a.loadConfig()
	if err != nil {
		return exitf(2, "configuration: %v", err)
	}
	b, done, err := a.backend(cfg, write)
	if err != nil {
		return err
	}
	defer done()
	return fn(b, cfg)
}

// backend connects to the daemon, or opens the queue file when no daemon
// runs.
func (a *app) backend(cfg *config.Config, write bool) (queueBackend, func(), error) {
	l := ctl.LayoutOf(cfg.StateDir)
	client := ctl.NewClient(l.Socket)
	// A stat is the cheapest question that proves a daemon answers.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err := client.Stat(ctx)
	cancel()
	if err == nil {
		return client, func() {}, nil
	}
	var re *ctl.RemoteError
	if errors.As(err, &re) {
		return nil, nil, exitf(1, "%s", re.Msg)
	}
	if !errors.Is(err, ctl.ErrNoDaemon) && !errors.Is(err, ctl.ErrNoAccess) {
		return nil, nil, err
	}
	st, err := store.Open(l.Queue, store.Options{ReadOnly: !write, LockTimeout: 2 * time.Second})
	if err != nil {
		return nil, nil, exitf(1, "the daemon is not running and the queue cannot be opened: %v", err)
	}
	return &offline{layout: l, st: st}, func() { st.Close() }, nil
}

func (a *app) queueCmd() *cobra.Command {
	q := &cobra.Command{
		Use:   "queue",
		Short: "List, inspect and change the queue (root, the daemon's user or admin_group)",
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List queued messages in qmail-qread's layout, or as JSON lines",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return a.withBackend(false, func(b queueBackend, cfg *config.Config) error {
				route, err := setup.Router(cfg)
				if err != nil {
					return exitf(2, "configuration: %v", err)
				}
				if err := a.list(b, asJSON, route); err != nil {
					return exitf(1, "%v%s", err, damageHint(err))
				}
				return nil
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "one JSON object per message")
	stat := &cobra.Command{
		Use:   "stat",
		Short: "Count queued messages, as qmail-qstat does",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return a.withBackend(false, func(b queueBackend, _ *config.Config) error {
				s, err := b.Stat(context.Background())
				if err == nil {
					writeStat(a.stdout, s)
				}
				return err
			})
		},
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a message's envelope, header and per-recipient state",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			id, err := store.ParseID(args[0])
			if err != nil {
				return exitf(1, "%v", err)
			}
			return a.withBackend(false, func(b queueBackend, _ *config.Config) error {
				sh, err := b.Show(context.Background(), id)
				if err != nil {
					return exitf(1, "%v%s", err, damageHint(err))
				}
				writeShow(a.stdout, sh)
				return nil
			})
		},
	}
	q.AddCommand(list, stat, show, a.queueCheckCmd())
	for _, op := range []struct{ name, short string }{
		{ctl.OpFlush, "Retry now: the named messages, or all"},
		{ctl.OpHold, "Hold messages: no delivery attempts until released"},
		{ctl.OpRelease, "Release held messages"},
		{ctl.OpDelete, "Remove messages from the queue without a bounce"},
		{ctl.OpBounce, "Give up on messages now and bounce them to their senders"},
	} {
		q.AddCommand(a.applyCmd(op.name, op.short))
	}
	return q
}

// applyCmd builds one of the commands that change messages by id.
func (a *app) applyCmd(op, short string) *cobra.Command {
	args := cobra.MinimumNArgs(1)
	use := op + " ID..."
	if op == ctl.OpFlush {
		args = cobra.ArbitraryArgs
		use = op + " [ID...]"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(_ *cobra.Command, argv []string) error {
			ids := make([]store.ID, 0, len(argv))
			for _, s := range argv {
				id, err := store.ParseID(s)
				if err != nil {
					return exitf(1, "%v", err)
				}
				ids = append(ids, id)
			}
			return a.withBackend(true, func(b queueBackend, _ *config.Config) error {
				failed, err := b.Apply(context.Background(), op, ids)
				for _, f := range failed {
					fmt.Fprintf(a.stderr, "qsend: %s %d: %s\n", op, f.ID, f.Error)
				}
				if err != nil {
					// An *InterruptedError says how many ids were done
					// before the connection to the daemon broke.
					return exitf(1, "%v", err)
				}
				if len(failed) > 0 {
					return exitf(1, "")
				}
				return nil
			})
		},
	}
}
