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
	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/delivery/local"
	"github.com/qsend/qsend/delivery/remote"
	"github.com/qsend/qsend/intake/maildrop"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/internal/dkim"
	"github.com/qsend/qsend/internal/trace"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/setup"
	"github.com/qsend/qsend/smtpd"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/mtasts"
	"github.com/qsend/qsend/tls/policy"
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
	invokers trace.Invokers
	imports  chan chan struct{}
	derived  derived
	remote   *remote.Transport
	sts      *mtasts.Resolver // nil when tls.mta_sts is off

	smtp          *smtpd.Server // the listeners' server
	smtpBuilt     *setup.Built  // what smtp's options hold open
	smtpRetired   []*setup.Built
	smtpListeners []smtpListener
	metrics       net.Listener // nil when metrics.listen is empty
	damaged       atomic.Int64 // problems the start-up checks found in the queue file

	dkim         atomic.Pointer[dkim.Signer] // swapped on reload
	dkimCounters dkim.Counters
}

// derived is what the daemon builds from the configuration and that can
// still be wrong in ways Load does not see: the rewrite rules, smtproutes,
// the retry schedule. It is built before the queue is opened at start, and
// before anything changes on reload.
type derived struct {
	admins   admins
	route    func(addr string) delivery.Channel
	resolver *mx.Resolver
	retry    func(delivery.Deferral) time.Time
	local    *local.Transport
	tls      *policy.Engine
}

func derive(cfg *config.Config, log *slog.Logger) (derived, error) {
	var d derived
	var err error
	if d.admins, err = newAdmins(cfg.AdminGroup); err != nil {
		return d, err
	}
	rules, err := setup.Rules(cfg)
	if err != nil {
		return d, err
	}
	d.route = setup.Route(rules)
	if d.local, err = local.New(setup.LocalOptions(cfg, rules, log)); err != nil {
		return d, fmt.Errorf("local delivery: %w", err)
	}
	if d.resolver, err = setup.Resolver(cfg); err != nil {
		return d, err
	}
	if d.retry, err = setup.Retry(cfg); err != nil {
		return d, err
	}
	if d.tls, err = setup.TLSPolicy(cfg, log); err != nil {
		return d, err
	}
	return d, nil
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
		invokers: trace.LookupInvokers(),
		imports:  make(chan chan struct{}),
	}
	var err error
	if d.derived, err = derive(cfg, log); err != nil {
		return err
	}
	a := d.derived.admins
	d.admins.Store(&a)
	if err := d.buildDKIM(); err != nil {
		return err
	}
	if err := prepare(d.layout, a.gid); err != nil {
		return err
	}
	lock, err := lockStateDir(d.layout)
	if err != nil {
		return err
	}
	defer lock.Close()
	d.store, err = store.Open(d.layout.Queue, store.Options{
		LockTimeout: storeLockWait,
		BatchDelay:  cfg.StoreBatchDelay,
		Logger:      log,
	})
	if err != nil {
		return err
	}
	defer d.store.Close()
	d.checkMeta()
	// Signals are caught from before the control socket exists: whoever
	// sees the socket may signal the daemon.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGALRM, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	ln, err := listen(d.layout.Socket, a.gid)
	if err != nil {
		return err
	}
	defer os.Remove(d.layout.Socket)
	// Until run owns them, what is opened here is closed on an error.
	opened := []io.Closer{ln}
	fail := func(err error) error {
		for _, c := range opened {
			c.Close()
		}
		return err
	}
	trigger, err := os.OpenFile(d.layout.Trigger, os.O_RDWR, 0) // O_RDWR: never blocks, never EOF
	if err != nil {
		return fail(fmt.Errorf("opening the trigger %s: %w", d.layout.Trigger, err))
	}
	opened = append(opened, trigger)
	if cfg.MetricsListen != "" {
		if d.metrics, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			return fail(fmt.Errorf("metrics.listen: %w", err))
		}
		opened = append(opened, d.metrics)
	}
	if d.smtp, d.smtpBuilt, err = d.smtpServer(cfg); err != nil {
		return fail(err)
	}
	defer func() {
		for _, b := range append(d.smtpRetired, d.smtpBuilt) {
			b.Close()
		}
	}()
	if d.smtpListeners, err = listenSMTP(cfg); err != nil {
		return fail(err)
	}
	for _, l := range d.smtpListeners {
		opened = append(opened, l.ln)
	}
	ro, sts, err := setup.Remote(cfg, d.derived.resolver, d.derived.tls, newSTSCache(d.store), log)
	if err != nil {
		return fail(err)
	}
	d.sts = sts
	d.remote = remote.New(ro)
	defer d.remote.Close()
	d.sched = delivery.New(d.schedulerOptions(cfg))
	stats, _ := d.store.Stats()
	log.Info("qsend daemon started", "state_dir", cfg.StateDir, "messages", stats.Messages, "pid", os.Getpid())
	return d.run(ctx, ln, trigger, sigs)
}

// run is the event loop: it owns every goroutine it starts and returns
// after all of them have stopped.
func (d *Daemon) run(ctx context.Context, ln *net.UnixListener, trigger *os.File, sigs <-chan os.Signal) error {
	work, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var wg sync.WaitGroup
	schedDone := make(chan error, 1)
	wg.Add(4)
	go func() { defer wg.Done(); schedDone <- d.sched.Run(work) }()
	go func() { defer wg.Done(); d.serve(work, ln) }()
	go func() { defer wg.Done(); d.importer(work) }()
	go func() { defer wg.Done(); d.watchTrigger(trigger) }()
	wg.Add(1)
	go func() { defer wg.Done(); d.checkRecords(work) }()
	if d.metrics != nil {
		wg.Add(1)
		go func() { defer wg.Done(); d.serveMetrics(work, d.metrics) }()
	}
	if d.sts != nil {
		// RFC 8461 §5.1: refresh cached policies before they expire.
		wg.Add(1)
		go func() { defer wg.Done(); d.sts.Run(work) }()
	}
	for _, l := range d.smtpListeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.smtp.Serve(work, l.ln, l.mode); err != nil {
				d.log.Error("SMTP listener stopped", "listen", l.ln.Addr().String(), "err", err)
			}
		}()
	}

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
				// qmail-send.8, SIGALRM: everything waiting is retried now.
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

// schedulerOptions are the scheduler's options: what setup derives from
// cfg, with the daemon's store, transports, route and retry schedule.
func (d *Daemon) schedulerOptions(cfg *config.Config) delivery.Options {
	o := setup.SchedulerOptions(cfg)
	o.Store = d.store
	o.Logger = d.log
	o.Remote = d.remote
	o.Local = d.derived.local
	o.Route = d.derived.route
	o.Retry = d.derived.retry
	o.Bounce.Sign = d.signBounce(cfg.Me)
	return o
}

// reload reads the configuration again (SIGHUP). A configuration that does
// not load leaves the running one in force.
func (d *Daemon) reload() {
	cfg, err := config.Load(d.opts)
	var der derived
	if err == nil {
		der, err = derive(cfg, d.log)
	}
	var signer *dkim.Signer
	if err == nil {
		signer, err = setup.DKIM(cfg, d.layout.Tmp, &d.dkimCounters, d.log)
	}
	var built *setup.Built
	if err == nil {
		built, err = d.smtpOptions(cfg)
	}
	if err != nil {
		d.log.Error("reload failed, keeping the old configuration", "err", err)
		return
	}
	if err := d.reconfigureSMTP(built); err != nil {
		built.Close()
		d.log.Error("reload failed, keeping the old configuration", "err", err)
		return
	}
	changed := cfg.Diff(d.cfg)
	for _, key := range changed {
		if !config.AppliedOnReload(key) {
			d.log.Warn("reload: this change takes effect at the next start", "key", key)
		}
	}
	der.resolver = d.derived.resolver // the transport keeps the one it has
	d.derived = der
	d.remote.SetPolicy(der.tls)
	a := der.admins
	d.admins.Store(&a)
	d.dkim.Store(signer)
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
// pid at t (qmail-queue.c).
func (d *Daemon) received(pid, uid int, t time.Time) string {
	return trace.Received(pid, d.invokers.Words(uid), t)
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
