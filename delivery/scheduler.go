// Package delivery is qsend's queue manager, the part of qmail-send that
// decides what to deliver when: an event-driven scheduler over the store's
// schedule index, qmail's retry formula and queue lifetime, bounces of
// failed recipients, and qmail-send's log lines. It never speaks SMTP
// itself: each channel's Transport delivers the jobs it is given.
package delivery

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/qsend/qsend/internal/qmaillog"
	"github.com/qsend/qsend/store"
)

// Scheduler runs deliveries of a queue. Its methods are safe for
// concurrent use; Run is the event loop and must run for mail to move,
// while the control methods (Hold, Delete, ...) work whether or not it
// runs.
type Scheduler struct {
	st   *store.Store
	pid  int // "qp" of the bounces this process queues
	wake chan struct{}

	// mu guards the fields below, and serialises control calls with
	// dispatch, so a message is never started while it is being held or
	// deleted. The loop holds it across st.Get in dispatch; control calls
	// hold it across their store writes.
	mu         sync.Mutex
	o          Options
	running    bool
	stopping   bool                   // Run's context ended: start no job
	jobCtx     context.Context        // canceled when the shutdown grace is over
	jobs       sync.WaitGroup         // job goroutines, owned by Run
	inflight   [numChannels]int       // jobs running per channel
	flights    map[store.ID]*flight   // messages with jobs running
	deliveries int                    // last delivery number handed out
	examined   int                    // messages read to find work
	tlsHeld    int                    // messages held at expiry for TLS
	low        [numChannels]key       // lowest schedule key changed since the loop last looked
	flushReq   time.Time              // FlushAll not yet taken by the loop
	later      map[store.ID]time.Time // messages left alone after a store error, until then

	// Owned by the loop goroutine.
	from [numChannels]key // every due entry below it needing the channel is handled
	// idle[c] is when the channel's scan has work again if nothing lowers
	// its position: the time of the first entry not due, or math.MaxInt64
	// at the end of the schedule; 0 means scan now.
	idle     [numChannels]int64
	flush    [numChannels]flushPass
	revisits revisits
	batch    []key
}

// flight is a message with jobs in flight and the control requests that
// wait for them to end.
type flight struct {
	jobs                     int
	hold, del, bounce, flush bool
}

// waiting reports whether a control request waits for the flight.
func (f *flight) waiting() bool { return f.hold || f.del || f.bounce || f.flush }

// flushPass is FlushAll's pass over the whole schedule for one channel:
// every recipient not attempted since start is due (qmail-send.8,
// SIGALRM), without rewriting the store.
type flushPass struct {
	active bool
	start  time.Time
	pos    key
}

// Status is a snapshot of the scheduler.
type Status struct {
	Remote, Local ChannelStatus
	// Deliveries counts the deliveries started since New, one per
	// recipient as qmail-send numbers them.
	Deliveries int
	// Examined counts the messages read from the store to find due work,
	// so an operator can see that waiting mail costs nothing.
	Examined int
	// TLSHeld counts the messages held at the end of their queue lifetime
	// because their TLS policy could not be met (tls.on_expiry hold).
	TLSHeld int
}

// ChannelStatus describes one channel.
type ChannelStatus struct {
	InFlight  int  // jobs running
	Limit     int  // concurrency; 0 holds the channel
	Transport bool // false: the channel's mail waits
}

// New returns a scheduler for o.Store. It starts nothing; call Run.
func New(o Options) *Scheduler {
	return &Scheduler{
		st:      o.Store,
		pid:     os.Getpid(),
		wake:    make(chan struct{}, 1),
		o:       o.withDefaults(),
		flights: make(map[store.ID]*flight),
		later:   make(map[store.ID]time.Time),
		low:     [numChannels]key{maxKey, maxKey},
	}
}

// errRunning is returned by a second concurrent Run.
var errRunning = errors.New("delivery: scheduler is already running")

// Run is the event loop: it dispatches due mail, completes messages whose
// recipients are all final, and reacts to Enqueued, finished jobs, control
// calls and the timer of the next due entry, until ctx ends. Then it
// starts nothing more, waits up to ShutdownGrace for running jobs, cancels
// the rest (transports then defer what they did not finish), records
// their results and returns nil. Mail whose attempt was not recorded stays
// due, as in qmail.
func (s *Scheduler) Run(ctx context.Context) error {
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errRunning
	}
	s.running, s.stopping, s.jobCtx = true, false, jobCtx
	s.mu.Unlock()
	// A new run rereads the schedule from its start.
	s.from = [numChannels]key{}
	s.idle = [numChannels]int64{}
	s.flush = [numChannels]flushPass{}
	s.revisits = revisits{}

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		next := s.pump(ctx)
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(max(next.Sub(s.clock()), 0))
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-timer.C:
		}
	}
	s.shutdown(cancelJobs)
	return nil
}

// shutdown waits for running jobs, canceling them after the grace period.
func (s *Scheduler) shutdown(cancelJobs context.CancelFunc) {
	s.mu.Lock()
	s.stopping = true
	grace := s.o.ShutdownGrace
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.jobs.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.logger().Warn("shutdown grace over, canceling running deliveries", "grace", grace)
		cancelJobs()
		<-done
	}
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
}

// poke wakes the loop.
func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.o.Now()
}

func (s *Scheduler) logger() *slog.Logger {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.o.Logger
}

// Enqueued tells the scheduler that m was committed to the store: it logs
// "new msg" and "info msg" and wakes the loop to schedule m's first
// attempt. It never blocks on the loop.
func (s *Scheduler) Enqueued(m store.Message) {
	l := s.logger()
	qmaillog.LogNewMsg(l, m.ID)
	qmaillog.LogInfoMsg(l, m)
	s.mu.Lock()
	s.noteChangedLocked(m)
	s.mu.Unlock()
	s.poke()
}

// noteChangedLocked records that m's schedule entry may have moved below
// where the loop's scan stands, for each channel m still needs.
func (s *Scheduler) noteChangedLocked(m store.Message) {
	if m.Held {
		return
	}
	k, ok := entryKey(m)
	if !ok {
		return // complete: the completion entry is at the head
	}
	for _, r := range m.Recipients {
		if !r.State.Final() {
			c := s.o.route(r.Addr)
			s.low[c] = minKey(s.low[c], k)
		}
	}
}

// Reconfigure applies new options (SIGHUP): concurrency, lifetime, retry,
// routing, transports and bounce settings. The store cannot change, and
// a nil Now keeps the clock in use. As the routing may have changed, the
// loop looks at the due part of the schedule once more.
func (s *Scheduler) Reconfigure(o Options) {
	s.mu.Lock()
	o.Store = s.st
	if o.Now == nil {
		o.Now = s.o.Now
	}
	s.o = o.withDefaults()
	s.low = [numChannels]key{}
	s.mu.Unlock()
	s.poke()
}

// Status returns the jobs in flight and limits per channel and the number
// of deliveries started.
func (s *Scheduler) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := func(c Channel) ChannelStatus {
		return ChannelStatus{InFlight: s.inflight[c], Limit: s.o.limit(c), Transport: s.o.transport(c) != nil}
	}
	return Status{Remote: ch(Remote), Local: ch(Local), Deliveries: s.deliveries, Examined: s.examined, TLSHeld: s.tlsHeld}
}

// BackoffResetter is a Transport that backs destinations off on its own
// (the remote transport, for destinations it could not reach). A flush
// resets the backoff of the destinations of the mail it makes due, so that
// the attempt it asks for happens now: qmail-tcpok (qmail-tcpok.8) clears
// qmail-remote's memory of hosts that timed out, and SIGALRM then retries
// everything.
type BackoffResetter interface {
	// ResetBackoff forgets the backoff of the destinations of addrs (the
	// recipients' addresses), or of every destination when addrs is nil.
	ResetBackoff(addrs []string)
}

// resetBackoff resets the remote transport's backoff for the remote
// recipients not yet final of message id, or for every destination when
// id is 0.
func (s *Scheduler) resetBackoff(id store.ID) {
	s.mu.Lock()
	br, ok := s.o.Remote.(BackoffResetter)
	if !ok {
		s.mu.Unlock()
		return
	}
	var addrs []string
	if id != 0 {
		addrs = []string{} // not nil: only these
		if m, err := s.st.Get(id); err == nil {
			for _, r := range m.Recipients {
				if !r.State.Final() && s.o.route(r.Addr) == Remote {
					addrs = append(addrs, r.Addr)
				}
			}
		}
	}
	s.mu.Unlock()
	br.ResetBackoff(addrs)
}

// logStatusLocked logs qmail-send's status line from the current counts.
func (s *Scheduler) logStatusLocked() {
	qmaillog.LogStatus(s.o.Logger, s.inflight[Local], s.o.limit(Local), s.inflight[Remote], s.o.limit(Remote))
}
