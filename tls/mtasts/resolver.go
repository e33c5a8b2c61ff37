package mtasts

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/qsend/qsend/internal/flight"
)

// Defaults for Options fields left zero.
const (
	DefaultRefreshInterval = time.Hour
	DefaultRefreshAge      = 24 * time.Hour
	DefaultRetryAfter      = 5 * time.Minute
)

// maxKnown caps the domains a Resolver remembers for Run when its Cache is
// not a Lister, and the failed fetches it remembers.
const maxKnown = 100000

// Options configures a Resolver.
type Options struct {
	// TXT looks up TXT records: (*mx.Resolver).TXT. A temporary failure is
	// an error, no record is an empty result. Required.
	TXT func(ctx context.Context, name string) ([]string, error)
	// Cache keeps policies; nil: a new MemoryCache.
	Cache Cache
	// RootCAs are trusted to sign policy servers' certificates besides the
	// system's roots (config for tests and private deployments).
	RootCAs []*x509.Certificate
	// DialContext connects to policy servers; nil: net.Dialer. Tests use
	// it to send mta-sts.<domain>:443 to a server on loopback; the
	// certificate is still checked against mta-sts.<domain>.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// HTTPClient, when set, fetches policies instead of the client built
	// from RootCAs, DialContext and FetchTimeout. Redirects are refused
	// all the same.
	HTTPClient *http.Client
	// FetchTimeout bounds one policy fetch (default 30 s).
	FetchTimeout time.Duration
	// RetryAfter is how long Get waits before fetching again a policy whose
	// fetch failed (default 5 min; RFC 8461 §3.3 lets senders rate-limit
	// fetches). Refresh does not wait.
	RetryAfter time.Duration
	// RefreshInterval is how often Run looks for policies to refresh
	// (default 1 h).
	RefreshInterval time.Duration
	// RefreshAge: Run fetches again a policy fetched longer ago than this
	// or than half its max_age, whichever is shorter (default 24 h).
	RefreshAge time.Duration
	Now        func() time.Time
	Logger     *slog.Logger // nil: no logs
}

// Source says where Lookup's policy came from.
type Source string

// The sources of a Result.
const (
	SourceNone    Source = "none"    // no policy applies
	SourceCache   Source = "cache"   // the cached policy, still valid
	SourceFetched Source = "fetched" // fetched during this lookup
)

// Result is the outcome of Lookup.
type Result struct {
	Policy  *Policy   // nil when Source is SourceNone; may be in mode none
	ID      string    // the policy's id
	Source  Source    // where Policy came from
	Expires time.Time // when Policy expires
	// Err says why no current policy could be had: the TXT lookup or the
	// fetch failed, or the record is unusable. Delivery goes on with Policy
	// all the same, nil meaning without MTA-STS (RFC 8461 §3.3, §5.1).
	Err error
}

// Resolver finds the MTA-STS policies of domains. It is safe for concurrent
// use.
type Resolver struct {
	txt             func(ctx context.Context, name string) ([]string, error)
	cache           Cache
	client          *http.Client
	now             func() time.Time
	log             *slog.Logger
	retryAfter      time.Duration
	refreshInterval time.Duration
	refreshAge      time.Duration

	mu      sync.Mutex
	flights flight.Group[Cached] // fetches in progress, by domain
	failed  map[string]failure   // recent failed fetches, by domain
	known   map[string]bool      // domains with a policy, for Run without a Lister
}

// failure is a failed fetch of a domain's policy id.
type failure struct {
	id    string
	until time.Time
	err   error
}

// New checks o and returns a Resolver.
func New(o Options) (*Resolver, error) {
	if o.TXT == nil {
		return nil, errors.New("mtasts: Options.TXT is required")
	}
	r := &Resolver{
		txt:             o.TXT,
		cache:           o.Cache,
		now:             o.Now,
		log:             o.Logger,
		retryAfter:      o.RetryAfter,
		refreshInterval: o.RefreshInterval,
		refreshAge:      o.RefreshAge,
		failed:          map[string]failure{},
		known:           map[string]bool{},
	}
	if r.cache == nil {
		r.cache = &MemoryCache{}
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.retryAfter <= 0 {
		r.retryAfter = DefaultRetryAfter
	}
	if r.refreshInterval <= 0 {
		r.refreshInterval = DefaultRefreshInterval
	}
	if r.refreshAge <= 0 {
		r.refreshAge = DefaultRefreshAge
	}
	timeout := o.FetchTimeout
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	client, err := newHTTPClient(o, timeout)
	if err != nil {
		return nil, err
	}
	r.client = client
	return r, nil
}

// Get returns the MTA-STS policy to apply to mail for domain (an A-label
// domain, as mx.Plan.Domain), or nil when none applies: no policy, mode none,
// or no policy could be had (RFC 8461 §3.3, §5.1). The error is non-nil only
// when ctx ended before a policy was known.
func (r *Resolver) Get(ctx context.Context, domain string) (*Policy, error) {
	res := r.Lookup(ctx, domain)
	if err := ctx.Err(); err != nil && res.Source == SourceNone {
		return nil, err
	}
	if res.Policy == nil || res.Policy.Mode == ModeNone {
		return nil, nil
	}
	return res.Policy, nil
}

// Lookup finds the policy for domain as RFC 8461 §5.1 has it, and says where
// it came from and what went wrong:
//   - the TXT record's id equals the cached policy's and that has not expired:
//     the cached policy, without a fetch;
//   - no usable TXT record, or its lookup failed: the cached policy while it
//     is valid, otherwise none (an absent record does not remove a cached
//     policy, RFC 8461 §3.1);
//   - a new id, or no valid cached policy: a fetch; if it fails, the cached
//     policy while it is valid, otherwise none.
func (r *Resolver) Lookup(ctx context.Context, domain string) Result {
	domain, err := normalDomain(domain)
	if err != nil {
		return Result{Source: SourceNone, Err: err}
	}
	cached, valid := r.load(domain)
	id, txtErr := r.recordID(ctx, domain)
	if valid && (id == "" || id == cached.ID) {
		r.remember(domain)
		return fromCache(cached, txtErr)
	}
	if id == "" {
		return Result{Source: SourceNone, Err: txtErr}
	}
	c, err := r.fetchOnce(ctx, domain, id, false)
	if err != nil {
		if valid {
			return fromCache(cached, err)
		}
		return Result{Source: SourceNone, Err: err}
	}
	return Result{Policy: &c.Policy, ID: c.ID, Source: SourceFetched, Expires: c.Expires}
}

func fromCache(c Cached, err error) Result {
	return Result{Policy: &c.Policy, ID: c.ID, Source: SourceCache, Expires: c.Expires, Err: err}
}

// Refresh fetches domain's policy again, whether or not its id changed, so
// that a policy in use never expires while its domain still publishes it: an
// attacker who blocks the fetch when the policy expires cannot then remove it
// (RFC 8461 §10; §5.1 lets a sender check for a new policy at any time).
// Without a usable TXT record a valid cached policy is refreshed
// under its old id; a domain with neither is left alone. Failures keep the
// cached policy.
func (r *Resolver) Refresh(ctx context.Context, domain string) error {
	domain, err := normalDomain(domain)
	if err != nil {
		return err
	}
	cached, valid := r.load(domain)
	id, txtErr := r.recordID(ctx, domain)
	if id == "" {
		if !valid {
			if errors.Is(txtErr, ErrNoRecord) {
				return nil
			}
			return txtErr
		}
		id = cached.ID
	}
	_, err = r.fetchOnce(ctx, domain, id, true)
	return err
}

// Run refreshes cached policies until ctx ends, then returns ctx's error. It
// checks at once and then every Options.RefreshInterval, and refreshes, one
// after the other, each valid policy fetched more than Options.RefreshAge or
// half its max_age ago, whichever is shorter. The policies are those of the
// Cache when it is a Lister, otherwise those this Resolver has used. The
// caller owns the goroutine that runs it.
func (r *Resolver) Run(ctx context.Context) error {
	t := time.NewTicker(r.refreshInterval)
	defer t.Stop()
	for {
		r.refreshDue(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// refreshDue is one round of Run.
func (r *Resolver) refreshDue(ctx context.Context) {
	for _, domain := range r.domains() {
		if ctx.Err() != nil {
			return
		}
		c, valid := r.load(domain)
		if !valid {
			r.forget(domain)
			continue
		}
		age := min(r.refreshAge, c.Policy.MaxAge/2)
		if r.now().Before(c.Fetched.Add(age)) {
			continue
		}
		if err := r.Refresh(ctx, domain); err != nil && ctx.Err() == nil {
			r.log.Warn("mtasts: refreshing policy failed; the cached policy stays",
				"domain", domain, "expires", c.Expires, "err", err)
		}
	}
}

// domains lists the domains Run looks at.
func (r *Resolver) domains() []string {
	if l, ok := r.cache.(Lister); ok {
		d, err := l.Domains()
		if err == nil {
			return d
		}
		r.log.Warn("mtasts: listing cached policies failed", "err", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.known))
	for d := range r.known {
		out = append(out, d)
	}
	return out
}

func (r *Resolver) remember(domain string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.known) < maxKnown {
		r.known[domain] = true
	}
}

func (r *Resolver) forget(domain string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.known, domain)
}

// load returns the cached policy of domain and whether it is still valid. A
// failing cache is logged and counts as empty.
func (r *Resolver) load(domain string) (Cached, bool) {
	c, ok, err := r.cache.Load(domain)
	if err != nil {
		r.log.Warn("mtasts: reading cached policy failed", "domain", domain, "err", err)
		return Cached{}, false
	}
	return c, ok && r.now().Before(c.Expires)
}

// recordID returns the id of domain's _mta-sts TXT record, or "" with the
// reason: a failed lookup, or ErrNoRecord/ErrSyntax for an unusable record.
func (r *Resolver) recordID(ctx context.Context, domain string) (string, error) {
	name := "_mta-sts." + domain
	records, err := r.txt(ctx, name)
	if err != nil {
		return "", fmt.Errorf("mtasts: TXT lookup of %s: %w", name, err)
	}
	if len(records) == 0 {
		return "", fmt.Errorf("%w at %s", ErrNoRecord, name)
	}
	id, err := selectRecord(records)
	if err != nil {
		return "", fmt.Errorf("mtasts: %s: %w", name, err)
	}
	return id, nil
}

// fetchOnce fetches domain's policy for id and caches it, sharing one fetch
// among concurrent callers. Unless force is set, a fetch of the same id that
// failed less than RetryAfter ago is not repeated: its error is returned.
// The fetch runs under the context of the caller that started it; a caller
// whose context ends returns at once, and one that waited for a fetch whose
// starter gave up fetches again with its own context.
func (r *Resolver) fetchOnce(ctx context.Context, domain, id string, force bool) (Cached, error) {
	if err := r.recentFailure(domain, id, force); err != nil {
		return Cached{}, err
	}
	return r.flights.Do(ctx, domain, func(ctx context.Context) (Cached, error) {
		// A fetch that failed since the look above is not repeated.
		if err := r.recentFailure(domain, id, force); err != nil {
			return Cached{}, err
		}
		c, err := r.fetchStore(ctx, domain, id)
		r.noteFetch(domain, id, err)
		return c, err
	})
}

// recentFailure returns the error of a fetch of domain's policy id that
// failed less than RetryAfter ago, unless force is set.
func (r *Resolver) recentFailure(domain, id string, force bool) error {
	if force {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.failed[domain]
	if !ok || f.id != id || !r.now().Before(f.until) {
		return nil
	}
	return fmt.Errorf("%w (not retried before %s)", f.err, f.until.Format(time.RFC3339))
}

// noteFetch remembers a failed fetch of domain's policy id for RetryAfter,
// and forgets an earlier failure once a fetch succeeds. A fetch that its
// caller gave up is not a failure of the server.
func (r *Resolver) noteFetch(domain, id string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil:
		delete(r.failed, domain)
	case !isContextErr(err) && len(r.failed) < maxKnown:
		r.failed[domain] = failure{id: id, until: r.now().Add(r.retryAfter), err: err}
	}
}

// fetchStore fetches domain's policy and caches it under id for its max_age
// from now (RFC 8461 §3.2 max_age). A cache that fails to store is logged:
// the policy is still used.
func (r *Resolver) fetchStore(ctx context.Context, domain, id string) (Cached, error) {
	p, err := fetch(ctx, r.client, domain)
	if err != nil {
		if !isContextErr(err) {
			r.log.Warn("mtasts: policy fetch failed", "domain", domain, "id", id, "err", err)
		}
		return Cached{}, err
	}
	now := r.now()
	c := Cached{Policy: *p, ID: id, Fetched: now, Expires: now.Add(p.MaxAge)}
	if err := r.cache.Store(domain, c); err != nil {
		r.log.Warn("mtasts: caching policy failed", "domain", domain, "err", err)
	}
	r.remember(domain)
	r.log.Info("mtasts: policy fetched", "domain", domain, "id", id, "mode", string(p.Mode),
		"max_age", int64(p.MaxAge/time.Second))
	return c, nil
}

// normalDomain lower-cases domain, drops a trailing dot and checks that it is
// a host name in ASCII.
func normalDomain(domain string) (string, error) {
	d := strings.TrimSuffix(strings.ToLower(domain), ".")
	if strings.HasPrefix(d, "*.") || !validPattern(d) {
		return "", fmt.Errorf("mtasts: %q is not a domain name", domain)
	}
	return d, nil
}

// isContextErr reports whether err is a cancelled or expired context.
func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
