package mtasts

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestGet(t *testing.T) {
	domains := []string{"enforce.test", "testing.test", "none.test", "notxt.test", "redirect.test",
		"big.test", "html.test", "status.test", "bad.test", "badtxt.test", "twotxt.test", "txtfail.test", "ctype.test"}
	w := newWorld(t, domains, nil)
	ok := func(body string) response { return response{body: body} }
	for d, r := range map[string]response{
		"enforce.test":  ok(enforcePolicy),
		"testing.test":  ok(testingPolicy),
		"none.test":     ok(nonePolicy),
		"notxt.test":    ok(enforcePolicy),
		"redirect.test": {status: 301, location: "https://mta-sts.enforce.test/.well-known/mta-sts.txt"},
		"big.test":      ok(enforcePolicy + "x-pad: " + strings.Repeat("a", MaxPolicySize) + "\n"),
		"html.test":     {ctype: "text/html", body: enforcePolicy},
		"status.test":   {status: 404, body: enforcePolicy},
		"bad.test":      ok("version: STSv1\nmode: enforce\nmax_age: 60\n"),
		"badtxt.test":   ok(enforcePolicy),
		"twotxt.test":   ok(enforcePolicy),
		"wrongca.test":  ok(enforcePolicy),
	} {
		w.policy.set(d, r)
	}
	w.policy.set("ctype.test", response{ctype: "text/plain; charset=utf-8", body: testingPolicy})
	for _, d := range domains {
		w.setTXT(d, "v=STSv1; id=1;")
	}
	w.setTXT("notxt.test", "")
	w.setTXT("badtxt.test", "v=STSv1; id=a-b;")
	w.dns.Add(`_mta-sts.twotxt.test. 0 IN TXT "v=STSv1; id=2;"`)
	w.dns.ServFail("_mta-sts.txtfail.test.")
	w.setTXT("unnamed.test", "v=STSv1; id=1;") // the certificate does not name mta-sts.unnamed.test
	w.policy.set("unnamed.test", ok(enforcePolicy))

	tests := []struct {
		domain  string
		mode    Mode   // "": no policy
		fetches int    // requests the server saw
		errText string // in Lookup's Err
	}{
		{domain: "enforce.test", mode: ModeEnforce, fetches: 1},
		{domain: "ENFORCE.test.", mode: ModeEnforce, fetches: 1}, // cached now
		{domain: "testing.test", mode: ModeTesting, fetches: 1},
		{domain: "none.test", fetches: 1},
		{domain: "notxt.test", fetches: 0, errText: "no usable _mta-sts TXT record"},
		{domain: "redirect.test", fetches: 1, errText: "redirects are not followed"},
		{domain: "big.test", fetches: 1, errText: "larger than 65536 bytes"},
		{domain: "html.test", fetches: 1, errText: `content type "text/html"`},
		{domain: "status.test", fetches: 1, errText: "HTTP status 404"},
		{domain: "bad.test", fetches: 1, errText: "policy in mode enforce has no mx"},
		{domain: "badtxt.test", fetches: 0, errText: "not 1 to 32 letters and digits"},
		{domain: "twotxt.test", fetches: 0, errText: "2 records start with v=STSv1"},
		{domain: "txtfail.test", fetches: 0, errText: "TXT lookup error"},
		{domain: "unnamed.test", fetches: 0, errText: "certificate is valid for"},
		{domain: "not a domain", errText: "is not a domain name"},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			ctx := context.Background()
			p, err := w.r.Get(ctx, tt.domain)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.mode == "" && p != nil:
				t.Errorf("Get = %+v, want no policy", p)
			case tt.mode != "" && (p == nil || p.Mode != tt.mode):
				t.Errorf("Get = %+v, want mode %s", p, tt.mode)
			}
			if tt.domain != "not a domain" {
				if n := w.policy.fetches(strings.TrimSuffix(strings.ToLower(tt.domain), ".")); n != tt.fetches {
					t.Errorf("%d fetches, want %d", n, tt.fetches)
				}
			}
			res := w.r.Lookup(ctx, tt.domain)
			if tt.errText == "" && res.Err != nil || tt.errText != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.errText)) {
				t.Errorf("Lookup error %v, want one containing %q", res.Err, tt.errText)
			}
		})
	}
	if p, _ := w.r.Get(context.Background(), "enforce.test"); p == nil || !p.Match("mx.example.com") ||
		!p.Match("a.mx.example.net") || p.Match("evil.example.com") {
		t.Errorf("enforce policy %+v matches wrongly", p)
	}
	if res := w.r.Lookup(context.Background(), "none.test"); res.Policy == nil || res.Policy.Mode != ModeNone || res.Source != SourceCache {
		t.Errorf("Lookup(none.test) = %+v, want the cached mode none policy", res)
	}
	if p, err := w.r.Get(context.Background(), "ctype.test"); err != nil || p == nil {
		t.Errorf("Get with a charset parameter = %+v, %v", p, err)
	}
}

// TestGetLifecycle walks one domain through RFC 8461 §5.1: a new id refetches,
// a failed fetch keeps the cached policy while it is valid, an expired one is
// fetched again or dropped.
func TestGetLifecycle(t *testing.T) {
	const d = "life.test"
	w := newWorld(t, []string{d}, nil)
	ctx := context.Background()
	second := strings.Replace(enforcePolicy, "mx.example.com", "mx2.example.com", 1)
	type step struct {
		name    string
		advance time.Duration
		txt     string    // "-": no record; "": unchanged
		resp    *response // nil: unchanged
		wantMX  string    // first mx of the policy Get returns; "": none
		source  Source
		fetches int // new fetches in this step
		err     bool
	}
	steps := []step{
		{name: "first fetch", txt: "v=STSv1; id=1;", resp: &response{body: enforcePolicy},
			wantMX: "mx.example.com", source: SourceFetched, fetches: 1},
		{name: "same id uses the cache", advance: time.Hour, wantMX: "mx.example.com", source: SourceCache},
		{name: "new id refetches", txt: "v=STSv1; id=2;", resp: &response{body: second},
			wantMX: "mx2.example.com", source: SourceFetched, fetches: 1},
		{name: "record gone keeps the cache", txt: "-", wantMX: "mx2.example.com", source: SourceCache, err: true},
		// A minute on: the mx cache keeps the record's absence for the SOA minimum.
		{name: "new id, fetch fails, cache kept", advance: time.Minute, txt: "v=STSv1; id=3;", resp: &response{status: 500},
			wantMX: "mx2.example.com", source: SourceCache, fetches: 1, err: true},
		{name: "failure not retried at once", advance: time.Minute, wantMX: "mx2.example.com", source: SourceCache, err: true},
		{name: "retried after RetryAfter", advance: DefaultRetryAfter, wantMX: "mx2.example.com",
			source: SourceCache, fetches: 1, err: true},
		{name: "expired, fetch fails: no policy", advance: 24 * time.Hour, source: SourceNone, fetches: 1, err: true},
		{name: "expired, fetch works", advance: DefaultRetryAfter, resp: &response{body: enforcePolicy},
			wantMX: "mx.example.com", source: SourceFetched, fetches: 1},
		{name: "expired, no record: no policy", advance: 25 * time.Hour, txt: "-", source: SourceNone, err: true},
	}
	for _, st := range steps {
		w.clock.add(st.advance)
		switch st.txt {
		case "":
		case "-":
			w.setTXT(d, "")
		default:
			w.setTXT(d, st.txt)
		}
		if st.resp != nil {
			w.policy.set(d, *st.resp)
		}
		before := w.policy.fetches(d)
		res := w.r.Lookup(ctx, d)
		mx := ""
		if res.Policy != nil {
			mx = res.Policy.MX[0]
		}
		if mx != st.wantMX || res.Source != st.source || (res.Err != nil) != st.err {
			t.Errorf("%s: Lookup = mx %q from %s, err %v; want mx %q from %s, error %v",
				st.name, mx, res.Source, res.Err, st.wantMX, st.source, st.err)
		}
		if n := w.policy.fetches(d) - before; n != st.fetches {
			t.Errorf("%s: %d fetches, want %d", st.name, n, st.fetches)
		}
	}
}

func TestRefresh(t *testing.T) {
	const d = "refresh.test"
	w := newWorld(t, []string{d}, nil)
	ctx := context.Background()
	w.setTXT(d, "v=STSv1; id=1;")
	w.policy.set(d, response{body: enforcePolicy})
	if p, _ := w.r.Get(ctx, d); p == nil {
		t.Fatal("no policy")
	}
	w.clock.add(20 * time.Hour)
	// Same id: Refresh fetches anyway and extends the lifetime.
	if err := w.r.Refresh(ctx, d); err != nil {
		t.Fatal(err)
	}
	c, _, _ := w.cache.Load(d)
	if n := w.policy.fetches(d); n != 2 || !c.Fetched.Equal(w.clock.now()) {
		t.Errorf("after Refresh: %d fetches, fetched %v", n, c.Fetched)
	}
	// A failing refresh leaves the cached policy.
	w.policy.set(d, response{status: 503})
	if err := w.r.Refresh(ctx, d); err == nil {
		t.Error("Refresh of a failing server gave no error")
	}
	if c2, _, _ := w.cache.Load(d); !c2.Fetched.Equal(c.Fetched) {
		t.Error("failed refresh changed the cache")
	}
	// Without a record the cached policy is refreshed under its old id.
	w.setTXT(d, "")
	w.policy.set(d, response{body: testingPolicy})
	if err := w.r.Refresh(ctx, d); err != nil {
		t.Fatal(err)
	}
	if c3, _, _ := w.cache.Load(d); c3.ID != "1" || c3.Policy.Mode != ModeTesting {
		t.Errorf("refresh without record cached %+v", c3)
	}
	// Nothing cached and no record: nothing to do.
	if err := w.r.Refresh(ctx, "other.test"); err != nil {
		t.Errorf("Refresh(other.test) = %v", err)
	}
}

func TestRun(t *testing.T) {
	for _, lister := range []bool{true, false} {
		name := "memory cache"
		if !lister {
			name = "cache without Lister"
		}
		t.Run(name, func(t *testing.T) {
			const d = "run.test"
			w := newWorld(t, []string{d}, func(o *Options) {
				o.RefreshInterval = 10 * time.Millisecond
				if !lister {
					o.Cache = plainCache{&MemoryCache{}}
				}
			})
			w.setTXT(d, "v=STSv1; id=1;")
			w.policy.set(d, response{body: testingPolicy}) // max_age 3600
			ctx, cancel := context.WithCancel(context.Background())
			if p, _ := w.r.Get(ctx, d); p == nil {
				t.Fatal("no policy")
			}
			var wg sync.WaitGroup
			var runErr error
			wg.Go(func() { runErr = w.r.Run(ctx) })
			time.Sleep(50 * time.Millisecond)
			if n := w.policy.fetches(d); n != 1 {
				t.Errorf("a fresh policy was refetched: %d fetches", n)
			}
			w.clock.add(31 * time.Minute) // past half of max_age
			deadline := time.Now().Add(5 * time.Second)
			for w.policy.fetches(d) < 2 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			wg.Wait()
			if n := w.policy.fetches(d); n != 2 {
				t.Errorf("Run made %d fetches in all, want 2", n)
			}
			if !errors.Is(runErr, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", runErr)
			}
		})
	}
}

// plainCache hides MemoryCache's Domains method.
type plainCache struct{ c *MemoryCache }

func (p plainCache) Load(d string) (Cached, bool, error) { return p.c.Load(d) }
func (p plainCache) Store(d string, c Cached) error      { return p.c.Store(d, c) }

func TestGetSharesFetches(t *testing.T) {
	const d = "shared.test"
	w := newWorld(t, []string{d}, nil)
	w.setTXT(d, "v=STSv1; id=1;")
	w.policy.set(d, response{body: enforcePolicy})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if p, err := w.r.Get(context.Background(), d); p == nil || err != nil {
				t.Errorf("Get = %v, %v", p, err)
			}
		})
	}
	wg.Wait()
	if n := w.policy.fetches(d); n != 1 {
		t.Errorf("10 concurrent Gets made %d fetches, want 1", n)
	}
}

func TestGetCancelled(t *testing.T) {
	w := newWorld(t, []string{"c.test"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p, err := w.r.Get(ctx, "c.test"); p != nil || !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context = %v, %v", p, err)
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without TXT gave no error")
	}
}
