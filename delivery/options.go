package delivery

import (
	"log/slog"
	"time"

	"github.com/qsend/qsend/delivery/bounce"
	"github.com/qsend/qsend/store"
)

// BounceSettings are the control files that shape bounces: bouncefrom,
// bouncehost, doublebounceto, doublebouncehost.
type BounceSettings = bounce.Settings

// DefaultShutdownGrace is how long Run waits for running deliveries after
// its context ends, unless Options say otherwise.
const DefaultShutdownGrace = 30 * time.Second

// Options configure a Scheduler.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger // nil discards
	// Remote and Local deliver each channel; nil leaves the channel's mail
	// queued.
	Remote, Local Transport
	// Route picks a recipient's channel; nil sends every recipient Remote.
	Route func(addr string) Channel
	// ConcurrencyRemote and ConcurrencyLocal limit the jobs in flight per
	// channel; 0 holds the channel (qmail-send.8, concurrencyremote).
	ConcurrencyRemote, ConcurrencyLocal int
	// QueueLifetime is how long a message may stay queued before its next
	// pass is its last (qmail-send.c nextretry()); 0 means one week.
	QueueLifetime time.Duration
	// Retry gives a deferred recipient's next attempt (see RetryFunc);
	// nil means QmailRetry, qmail's formula.
	Retry  func(d Deferral) time.Time
	Bounce BounceSettings
	// BounceTLSOnExpiry bounces a message whose queue lifetime ends while
	// its last failure was a TLS policy failure (store.Result.TLSPolicy);
	// false (tls.on_expiry hold) holds it instead, for an operator to fix
	// the certificate or policy and release it.
	BounceTLSOnExpiry bool
	// DelayWarning, when positive, sends a message's sender one delay
	// warning (bounce.ComposeDelay) once the message is older than this
	// and still has recipients to try, as Postfix's delay_warning_time;
	// 0 sends none, as qmail.
	DelayWarning time.Duration
	// ShutdownGrace is how long Run waits for running jobs after its
	// context ends before canceling them; 0 means DefaultShutdownGrace.
	ShutdownGrace time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// withDefaults fills the zero values that have defaults.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Route == nil {
		o.Route = func(string) Channel { return Remote }
	}
	if o.QueueLifetime <= 0 {
		o.QueueLifetime = DefaultQueueLifetime
	}
	if o.Retry == nil {
		o.Retry = QmailRetry
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = DefaultShutdownGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.ConcurrencyRemote = max(o.ConcurrencyRemote, 0)
	o.ConcurrencyLocal = max(o.ConcurrencyLocal, 0)
	return o
}

// transport returns the channel's transport.
func (o *Options) transport(c Channel) Transport {
	if c == Local {
		return o.Local
	}
	return o.Remote
}

// limit returns the channel's concurrency.
func (o *Options) limit(c Channel) int {
	if c == Local {
		return o.ConcurrencyLocal
	}
	return o.ConcurrencyRemote
}

// route returns addr's channel, treating an unknown answer as Remote.
func (o *Options) route(addr string) Channel {
	if c := o.Route(addr); c == Local {
		return Local
	}
	return Remote
}
