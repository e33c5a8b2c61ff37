// Package daemon is the process `qsend daemon` runs: it owns the queue
// file, runs the delivery scheduler, serves the control socket to the CLI
// and the intake programs, imports the maildrop, and reacts to signals
// (SIGALRM: retry everything now; SIGHUP: reload; SIGTERM, SIGINT: stop).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/daemon/ctl"
	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/delivery/rewrite"
	"github.com/qsend/qsend/intake"
	"github.com/qsend/qsend/intake/maildrop"
	"github.com/qsend/qsend/store"
)

// Settings that are not configuration keys.
const (
	// storeLockWait is how long start-up waits for another process (a CLI
	// command reading the file directly) to release the queue file.
	storeLockWait = 10 * time.Second
	// importEvery is how often the maildrop is scanned without a trigger,
	// in case a trigger was lost (qmail rescans todo every 1500 s).
	importEvery = 30 * time.Second
	// staleTemp is the age after which an unfinished maildrop file is
	// removed (its writer died).
	staleTemp = 36 * time.Hour
)

// Daemon is a running `qsend daemon`.
type Daemon struct {
	opts     config.Options
	cfg      *config.Config
	log      *slog.Logger
	level    *slog.LevelVar
	layout   ctl.Layout
	store    *store.Store
	sched    *delivery.Scheduler
	admins   atomic.Pointer[admins]
	invokers intake.Invokers
	imports  chan chan struct{}
	route    func(addr string) delivery.Channel
}

// Run starts the daemon with the configuration cfg (which Load built from
// opts; SIGHUP loads again from opts) and runs it until ctx ends or a
// SIGTERM or SIGINT arrives. level is the logger's level, changed on reload.
func Run(ctx context.Context, cfg *config.Config, opts config.Options, log *slog.Logger, level *slog.LevelVar) error {
	d := &Daemon{
		opts:     opts,
		cfg:      cfg,
		log:      log,
		level:    level,
		layout:   ctl.LayoutOf(cfg.StateDir),
		invokers: intake.LookupInvokers(),
		imports:  make(chan chan struct{}),
	}
	a, err := newAdmins(cfg.AdminGroup)
	if err != nil {
		return err
	}
	d.admins.Store(&a)
	if d.route, err = Router(cfg); err != nil {
		return err
	}
	if err := prepare(d.layout, a.gid); err != nil {
		return err
	}
	d.store, err = store.Open(d.layout.Queue, store.Options{
		LockTimeout: storeLockWait,
		BatchDelay:  cfg.StoreBatchDelay,
		Logger:      log,
	})
	if err != nil {
		return err
	}
	defer d.store.Close()
	ln, err := listen(d.layout.Socket, a.gid)
	if err != nil {
		return err
	}
	defer os.Remove(d.layout.Socket)
	trigger, err := os.OpenFile(d.layout.Trigger, os.O_RDWR, 0) // O_RDWR: never blocks, never EOF
	if err != nil {
		ln.Close()
		return fmt.Errorf("opening the trigger %s: %w", d.layout.Trigger, err)
	}
	d.sched = delivery.New(d.schedulerOptions(cfg))
	stats, _ := d.store.Stats()
	log.Info("qsend daemon started", "state_dir", cfg.StateDir, "messages", stats.Messages, "pid", os.Getpid())
	return d.run(ctx, ln, trigger)
}

// run is the event loop: it owns every goroutine it starts and returns
// after all of them have stopped.
func (d *Daemon) run(ctx context.Context, ln *net.UnixListener, trigger *os.File) error {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGALRM, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	work, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var wg sync.WaitGroup
	schedDone := make(chan error, 1)
	wg.Add(4)
	go func() { defer wg.Done(); schedDone <- d.sched.Run(work) }()
	go func() { defer wg.Done(); d.serve(work, ln) }()
	go func() { defer wg.Done(); d.importer(work) }()
	go func() { defer wg.Done(); d.watchTrigger(trigger) }()

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			d.log.Info("stopping", "reason", context.Cause(ctx))
			break loop
		case err := <-schedDone:
			runErr = fmt.Errorf("scheduler stopped: %w", err)
			schedDone <- err // let shutdown see it too
			break loop
		case sig := <-sigs:
			switch sig {
			case syscall.SIGALRM:
				// qmail-semantics.md §3.4: everything waiting is retried now.
				d.log.Info("SIGALRM: retrying all queued mail now")
				d.sched.FlushAll()
				d.requestImport()
			case syscall.SIGHUP:
				d.reload()
			default:
				d.log.Info("stopping", "signal", sig.String())
				break loop
			}
		}
	}
	// No new submissions or attempts; running ones finish within their
	// deadlines, the scheduler within its shutdown grace.
	ln.Close()
	trigger.Close()
	stop()
	wg.Wait()
	if err := <-schedDone; err != nil && !errors.Is(err, context.Canceled) && runErr == nil {
		runErr = err
	}
	d.log.Info("status: exiting")
	return runErr
}

// schedulerOptions maps the configuration onto the scheduler's options.
// Remote and local delivery are not built yet: without a transport, due
// mail stays queued and nothing claims to have delivered it.
func (d *Daemon) schedulerOptions(cfg *config.Config) delivery.Options {
	return delivery.Options{
		Store:             d.store,
		Logger:            d.log,
		ConcurrencyRemote: cfg.ConcurrencyRemote,
		ConcurrencyLocal:  cfg.ConcurrencyLocal,
		QueueLifetime:     cfg.QueueLifetime,
		Route:             d.route,
		Bounce: delivery.BounceSettings{
			BounceFrom:       cfg.BounceFrom,
			BounceHost:       cfg.BounceHost,
			DoubleBounceTo:   cfg.DoubleBounceTo,
			DoubleBounceHost: cfg.DoubleBounceHost,
		},
	}
}

// Router is qmail-send's choice between the local and the remote channel
// for a recipient (delivery/rewrite), from locals, virtualdomains,
// percenthack and envnoathost. Until local delivery exists, local
// recipients wait in the queue rather than going to a remote server.
func Router(cfg *config.Config) (func(addr string) delivery.Channel, error) {
	rules, err := rewrite.New(cfg.EnvNoAtHost, cfg.Locals, cfg.PercentHack, cfg.VirtualDomains)
	if err != nil {
		return nil, err
	}
	return func(addr string) delivery.Channel {
		if local, _ := rules.Rewrite(addr); local {
			return delivery.Local
		}
		return delivery.Remote
	}, nil
}

// reload reads the configuration again (SIGHUP). A configuration that does
// not load leaves the running one in force.
func (d *Daemon) reload() {
	cfg, err := config.Load(d.opts)
	if err != nil {
		d.log.Error("reload failed, keeping the old configuration", "err", err)
		return
	}
	a, err := newAdmins(cfg.AdminGroup)
	if err != nil {
		d.log.Error("reload failed, keeping the old configuration", "err", err)
		return
	}
	route, err := Router(cfg)
	if err != nil {
		d.log.Error("reload failed, keeping the old configuration", "err", err)
		return
	}
	d.route = route
	changed := cfg.Diff(d.cfg)
	for _, key := range changed {
		switch key {
		case "state_dir", "store.batch_delay", "log.format":
			d.log.Warn("reload: this change takes effect at the next start", "key", key)
		}
	}
	d.admins.Store(&a)
	d.level.Set(cfg.LogLevel)
	d.sched.Reconfigure(d.schedulerOptions(cfg))
	d.cfg = cfg
	d.log.Info("configuration reloaded", "changed", changed)
}

// prepare creates state_dir and what lives in it, with their modes.
func prepare(l ctl.Layout, gid int) error {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return fmt.Errorf("state_dir: %w", err)
	}
	dirs := []struct {
		path string
		mode os.FileMode
	}{{l.Maildrop, maildrop.DirMode}, {l.Tmp, 0o700}}
	for _, dir := range dirs {
		if err := os.Mkdir(dir.path, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("state_dir: %w", err)
		}
		if err := os.Chmod(dir.path, dir.mode); err != nil {
			return fmt.Errorf("state_dir: %w", err)
		}
	}
	if err := unix.Mkfifo(l.Trigger, 0o622); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("creating the trigger %s: %w", l.Trigger, err)
	}
	if fi, err := os.Lstat(l.Trigger); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return fmt.Errorf("%s exists and is not a FIFO", l.Trigger)
	}
	return os.Chmod(l.Trigger, 0o622)
}

// listen opens the control socket, mode 0660, in admin_group's group when
// one is configured. The caller holds the queue file's lock, so a socket
// file left there belongs to a daemon that is gone.
func listen(path string, gid int) (*net.UnixListener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing the old control socket: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("control socket: giving it to admin_group: %w", err)
		}
	}
	return ln, nil
}

// watchTrigger wakes the importer for every write to the trigger FIFO,
// until the FIFO is closed.
func (d *Daemon) watchTrigger(f *os.File) {
	buf := make([]byte, 64)
	for {
		if _, err := f.Read(buf); err != nil {
			if !errors.Is(err, os.ErrClosed) && !errors.Is(err, io.EOF) {
				d.log.Error("reading the trigger failed", "err", err)
			}
			return
		}
		d.requestImport()
	}
}

// received is the Received line for a message submitted by uid's process
// pid at t (qmail-semantics.md §4.1).
func (d *Daemon) received(pid, uid int, t time.Time) string {
	return intake.Received(pid, d.invokers.Words(uid), t)
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
