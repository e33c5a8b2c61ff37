// Package remote is qsend's remote delivery: the Transport the scheduler
// calls for recipients on other hosts. For each recipient domain it plans
// the servers to try (mx), talks SMTP to them (smtpclient) with the
// recipients of one message that share a domain in one transaction, reuses
// connections for the next message to the same server, limits sessions per
// destination, backs off destinations that cannot be reached, and turns
// every outcome into a per-recipient result with qmail-remote's texts.
package remote

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/delivery/smtpclient"
	mailenv "github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/policy"
)

// Options configure a Transport.
type Options struct {
	Resolver *mx.Resolver
	Port     int // remote.port: the SMTP port of MX hosts (a route may name another)
	Client   smtpclient.Options
	// Sessions bounds the SMTP sessions at once (concurrencyremote).
	Sessions int
	// PerDestination bounds the sessions to one recipient domain or
	// route. The default, a quarter of Sessions (at least 1), is a fair
	// share: a destination that holds its sessions for long (a tarpit, a
	// server that times out) leaves three quarters of them to the others.
	// It is the ratio of Postfix's defaults, 20
	// (default_destination_concurrency_limit) against 100
	// (default_process_limit).
	PerDestination int
	// MaxWaiting bounds the attempts one destination may hold, running or
	// waiting for a session (default twice PerDestination); beyond it an
	// attempt is put back for BusyRetry without counting, so that one slow
	// destination cannot hold every message the scheduler has in progress.
	MaxWaiting int
	// ReuseLimit is how many messages one connection carries before it is
	// closed (default 100); IdleTime how long an idle connection is kept
	// for the next message (default 5 s).
	ReuseLimit int
	IdleTime   time.Duration
	// BusyRetry is when an attempt that found its destination saturated
	// is tried again, without counting as an attempt (default 1 s: a
	// put-back costs one grouped store write, and the destination frees
	// sessions quickly).
	BusyRetry time.Duration
	// Backoff makes the backoff of a destination that cannot be reached;
	// nil: exponential from 1 minute to 1 hour with jitter.
	Backoff func() backoff.BackOff
	// TLS configures outbound TLS: policy, MTA-STS, DANE, plaintext
	// fallback.
	TLS    TLSOptions
	Logger *slog.Logger
	Now    func() time.Time
}

// FairShare is the sessions one destination may hold when its limit is
// not set: a quarter of all sessions, at least one, as Postfix's
// default_destination_concurrency_limit (20) is of its
// default_process_limit (100), so that a destination holding its sessions
// for long (a tarpit) leaves the rest to the others.
func FairShare(sessions int) int { return max(1, sessions/4) }

func (o Options) withDefaults() Options {
	if o.Port == 0 {
		o.Port = 25
	}
	if o.Sessions <= 0 {
		o.Sessions = 20
	}
	if o.PerDestination <= 0 {
		o.PerDestination = FairShare(o.Sessions)
	}
	if o.MaxWaiting < o.PerDestination {
		o.MaxWaiting = 2 * o.PerDestination
	}
	if o.ReuseLimit <= 0 {
		o.ReuseLimit = 100
	}
	if o.IdleTime <= 0 {
		o.IdleTime = 5 * time.Second
	}
	if o.BusyRetry <= 0 {
		o.BusyRetry = time.Second
	}
	if o.Backoff == nil {
		o.Backoff = func() backoff.BackOff {
			b := backoff.NewExponentialBackOff()
			b.InitialInterval = time.Minute
			b.MaxInterval = time.Hour
			b.MaxElapsedTime = 0 // never give up: the queue lifetime decides
			b.Reset()
			return b
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TLS.Policy == nil {
		// Without files or table the engine cannot fail.
		o.TLS.Policy, _ = policy.New(policy.Options{Logger: o.Logger})
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Transport delivers to remote hosts. It is safe for concurrent use.
type Transport struct {
	o        Options
	sessions chan struct{}
	pool     *pool
	dests    *destinations
	counts   Counts
	broken   brokenHosts
	policy   atomic.Pointer[policy.Engine] // Options.TLS.Policy, replaced by SetPolicy
	stop     chan struct{}
	done     chan struct{}
}

// Counts are the transport's counters, for operators: results by state
// and reason, sessions by what their TLS proved, and connections made and
// reused.
type Counts struct {
	Connections, Reused atomic.Int64
	results             counterMap // "state reason"
	tls                 counterMap // "class level"
}

// Results calls fn for every (state, reason) pair counted so far. state
// is "delivered", "deferred", "failed" or "waited" (put back without an
// attempt); reason is where it was decided: "dns", "connect", a stage of
// the SMTP session ("greeting", "helo", "starttls", "mail", "rcpt",
// "data", "body"), "connection" (lost), "busy", "backoff", "tls" (a TLS
// policy failure before connecting), "interrupted", or "ok".
func (c *Counts) Results(fn func(state, reason string, n int64)) { c.results.each(fn) }

// TLS calls fn for every (class, level) pair of new sessions counted so
// far: class is "verified" or "unverified" (the certificate would or would
// not have verified with the policy's or the system's roots, whether or not
// the level asked), "plain", or "failed" (TLS could not be set up); level
// is the policy level in force.
func (c *Counts) TLS(fn func(class, level string, n int64)) { c.tls.each(fn) }

// counterMap counts by a pair of labels.
type counterMap struct{ m sync.Map } // "a b" → *atomic.Int64

func (c *counterMap) add(a, b string) {
	key := a + " " + b
	v, ok := c.m.Load(key)
	if !ok {
		v, _ = c.m.LoadOrStore(key, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

func (c *counterMap) each(fn func(a, b string, n int64)) {
	c.m.Range(func(k, v any) bool {
		a, b, _ := strings.Cut(k.(string), " ")
		fn(a, b, v.(*atomic.Int64).Load())
		return true
	})
}

// New returns a Transport and starts its janitor, which closes idle
// connections; Close stops it.
func New(o Options) *Transport {
	o = o.withDefaults()
	t := &Transport{
		o:        o,
		sessions: make(chan struct{}, o.Sessions),
		pool:     newPool(),
		dests:    &destinations{m: make(map[string]*destination), limit: o.PerDestination, waiting: o.MaxWaiting, newBO: o.Backoff},
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	t.policy.Store(o.TLS.Policy)
	go t.janitor()
	return t
}

// SetPolicy replaces the TLS policy engine (a reload); attempts under way
// keep the one they started with.
func (t *Transport) SetPolicy(e *policy.Engine) {
	t.policy.Store(e)
	// Idle connections were set up under the old policy.
	t.pool.sweep(t.o.Now(), -1)
}

// Close stops the janitor and closes idle connections; it returns once
// every connection the pool was closing is closed.
func (t *Transport) Close() error {
	close(t.stop)
	<-t.done
	t.pool.close()
	return nil
}

func (t *Transport) janitor() {
	defer close(t.done)
	tick := time.NewTicker(t.o.IdleTime / 2)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			now := t.o.Now()
			t.pool.sweep(now, t.o.IdleTime)
			t.dests.forget(now)
			t.broken.forget(now)
		}
	}
}

// Counters returns the transport's counters.
func (t *Transport) Counters() *Counts { return &t.counts }

// Destinations is the number of destinations the transport remembers.
func (t *Transport) Destinations() int { return t.dests.size() }

// ResetBackoff forgets the backoff of the destinations that the domains of
// addrs were backed off in, or of every destination when addrs is nil, so
// that their next attempt goes ahead at once: a flush does it (as
// qmail-tcpok, qmail-tcpok.8, clears qmail-remote's memory of hosts that
// timed out before SIGALRM retries everything). It implements
// delivery.BackoffResetter.
func (t *Transport) ResetBackoff(addrs []string) {
	if addrs == nil {
		t.dests.reset(nil)
		return
	}
	domains := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		domains[domainOf(a)] = true
	}
	t.dests.reset(domains)
}

// Deliver implements delivery.Transport: the recipients of job are grouped
// by domain and each group is delivered in its own session, concurrently.
func (t *Transport) Deliver(ctx context.Context, job delivery.Job) []store.Result {
	results := make([]store.Result, len(job.Rcpts))
	reasons := make([]string, len(job.Rcpts))
	groups := map[string][]int{}
	var order []string
	for i, idx := range job.Rcpts {
		results[i].Index = idx
		d := domainOf(job.Msg.Recipients[idx].Addr)
		if groups[d] == nil {
			order = append(order, d)
		}
		groups[d] = append(groups[d], i)
	}
	var wg sync.WaitGroup
	for _, d := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.deliverDomain(ctx, job, d, groups[d], results, reasons)
		}()
	}
	wg.Wait()
	for i, r := range results {
		state := r.State.String()
		if r.NotAttempted {
			state = "waited"
		}
		t.counts.results.add(state, reasons[i])
	}
	return results
}

// domainOf is the part of addr after the last '@', lower-cased.
func domainOf(addr string) string {
	_, domain, _ := mailenv.Split(addr)
	return strings.ToLower(domain)
}

// group is the recipients of one domain still undecided, and how to settle them.
type group struct {
	job     delivery.Job
	pos     []int // positions in results still undecided
	results []store.Result
	reasons []string // where each result was decided, for the counters
	now     time.Time
}

func (g *group) settle(p int, state store.RcptState, reason, text string) {
	g.results[p].State, g.results[p].Text, g.results[p].At = state, text, g.now
	g.reasons[p] = reason
}

// settleRest gives every undecided recipient the same result.
func (g *group) settleRest(state store.RcptState, reason, text string) {
	for _, p := range g.pos {
		g.settle(p, state, reason, text)
	}
	g.pos = nil
}

// deferRest defers every undecided recipient with what the last server
// tried made of them, marked when it was a TLS policy failure.
func (g *group) deferRest(last tried) {
	for _, p := range g.pos {
		g.results[p].TLSPolicy = last.tlsPolicy
	}
	g.settleRest(store.Deferred, last.reason, last.text)
}

// wait puts every undecided recipient back until until, without an attempt.
func (g *group) wait(until time.Time, reason, text string) {
	for _, p := range g.pos {
		g.results[p] = store.Result{Index: g.results[p].Index, State: store.Deferred, NotAttempted: true, Next: until, Text: text, At: g.now}
		g.reasons[p] = reason
	}
	g.pos = nil
}

// deliverDomain delivers the recipients at positions pos, all of domain.
func (t *Transport) deliverDomain(ctx context.Context, job delivery.Job, domain string, pos []int, results []store.Result, reasons []string) {
	g := &group{job: job, pos: pos, results: results, reasons: reasons, now: t.o.Now()}
	plan, err := t.o.Resolver.Plan(ctx, domain)
	if err != nil {
		var me *mx.Error
		if errors.As(err, &me) && !me.Temporary {
			g.settleRest(store.Failed, "dns", me.Text+"\n")
		} else if me != nil {
			g.settleRest(store.Deferred, "dns", me.Text+"\n")
		} else {
			g.settleRest(store.Deferred, "dns", mx.TextSoftDNS+"\n")
		}
		return
	}
	key := plan.Domain
	if plan.Route != "" {
		key = "route:" + plan.Route
	}
	d, until, ok := t.dests.enter(key, g.now)
	if !ok {
		if until.IsZero() {
			g.wait(g.now.Add(t.o.BusyRetry), "busy", "")
		} else {
			g.wait(until, "backoff", backoffText(domain))
		}
		return
	}
	connectFailed := true
	defer func() { t.dests.leave(key, domain, d, t.o.Now(), connectFailed) }()
	if err := d.acquire(ctx); err != nil {
		g.settleRest(store.Deferred, "interrupted", interruptedText)
		connectFailed = false
		return
	}
	defer d.release()
	select {
	case t.sessions <- struct{}{}:
	case <-ctx.Done():
		g.settleRest(store.Deferred, "interrupted", interruptedText)
		connectFailed = false
		return
	}
	defer func() { <-t.sessions }()

	port := plan.Port
	if port == 0 {
		port = t.o.Port
	}
	last := tried{text: noConnection, reason: "connect"}
	var firstBroken *route // the first server whose handshake failed under may
	var firstBrokenAddr netip.AddrPort
	allBroken := true // every server reached failed the TLS handshake under may
	sts := t.stsPolicy(ctx, domain, plan)
	old := g.now.Sub(job.Msg.Born) >= t.o.TLS.PlaintextAfter
	for _, h := range plan.Hosts {
		if len(g.pos) == 0 || ctx.Err() != nil {
			break
		}
		dec, err := t.decide(ctx, domain, plan, h, port, sts)
		if err != nil {
			// A policy failure before connecting: defer, try the next MX.
			// It says nothing of whether the servers can be reached, so
			// it does not back the destination off (docs/tls.md).
			last = tried{text: policyText(err), reason: "tls", tlsPolicy: true}
			allBroken = false
			connectFailed = false
			continue
		}
		if dec.Warning != "" {
			t.o.Logger.Warn(stsWouldDefer, "id", job.Msg.ID, "domain", domain, "mx", h.Name, "err", dec.Warning)
		}
		for _, ip := range h.Addrs {
			if len(g.pos) == 0 || ctx.Err() != nil {
				break
			}
			addr := netip.AddrPortFrom(ip, uint16(port))
			r := route{dec: dec, port: port}
			// A host remembered broken goes plaintext at once for a
			// message old enough (Postfix's rule; KumoMTA's memory).
			// (No host on port 465 is remembered: SMTPS has no plaintext.)
			r.plain = dec.Level == policy.May && old && t.broken.has(ip, g.now)
			res := t.tryServer(ctx, g, h.Name, addr, r)
			if res.reached {
				connectFailed = false
			}
			if res.text != "" {
				last = res
			}
			if res.broken && firstBroken == nil {
				firstBroken, firstBrokenAddr = &r, addr
			} else if !res.broken && res.reached {
				allBroken = false
			}
		}
	}
	if len(g.pos) > 0 && allBroken && old && firstBroken != nil && ctx.Err() == nil {
		// Every server failed the handshake under may and the message
		// has waited long enough: one attempt in plaintext (Postfix).
		r := *firstBroken
		r.plain = true
		if res := t.tryServer(ctx, g, r.dec.Host, firstBrokenAddr, r); res.text != "" {
			last = res
		}
	}
	if len(g.pos) > 0 {
		g.deferRest(last)
	}
}
