package mx

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qsend/qsend/mx/dnstest"
)

// zone is the test data most plan tests share.
var zone = []string{
	"a.test. 300 IN MX 20 mx2.a.test.",
	"a.test. 300 IN MX 10 mx1.a.test.",
	"a.test. 300 IN MX 10 mx1b.a.test.",
	"mx1.a.test. 300 IN A 127.0.0.11",
	"mx1.a.test. 300 IN AAAA 2001:db8::11",
	"mx1b.a.test. 300 IN A 127.0.0.12",
	"mx2.a.test. 300 IN A 127.0.0.13",
	"nodata.test. 300 IN A 127.0.0.20",
	"nodata.test. 300 IN AAAA 2001:db8::20",
	"empty.test. 300 IN TXT \"no mail here\"",
	"null.test. 300 IN MX 0 .",
	"nullmix.test. 300 IN MX 0 .",
	"nullmix.test. 300 IN MX 10 mx2.a.test.",
	"noaddr.test. 300 IN MX 10 missing.test.",
	"noaddr.test. 300 IN MX 20 mx2.a.test.",
	"alldead.test. 300 IN MX 10 missing.test.",
	"alldead.test. 300 IN MX 20 empty.test.",
	"halfdead.test. 300 IN MX 10 sf.test.",
	"halfdead.test. 300 IN MX 20 missing.test.",
	"self.test. 300 IN A 127.0.0.1",
	"selfaddr.test. 300 IN MX 10 mx1.a.test.",
	"selfaddr.test. 300 IN MX 20 self.test.",
	"selfaddr.test. 300 IN MX 30 mx2.a.test.",
	"selfbest.test. 300 IN MX 10 self.test.",
	"selfbest.test. 300 IN MX 20 mx2.a.test.",
	"selfme.test. 300 IN MX 10 mx2.a.test.",
	"selfme.test. 300 IN MX 20 me.test.",
	"selfmebest.test. 300 IN MX 5 me.test.",
	"selfmebest.test. 300 IN MX 10 mx2.a.test.",
	"me.test. 300 IN A 127.0.0.99",
	"selfa.test. 300 IN A 127.0.0.1",
	"cnamemx.test. 300 IN MX 10 alias.test.",
	"alias.test. 300 IN CNAME mx2.a.test.",
	"cnamedom.test. 300 IN CNAME a.test.",
	"xn--bcher-kva.example. 300 IN MX 10 mx2.a.test.",
	"trunc.test. 300 IN MX 10 mx2.a.test.",
	"route-relay.test. 300 IN A 127.0.0.30",
	"route-relay.test. 300 IN AAAA 2001:db8::30",
}

// noShuffle keeps equal preferences in the order the server gave them.
func noShuffle(int, func(i, j int)) {}

// reverse is a deterministic "shuffle".
func reverse(n int, swap func(i, j int)) {
	for i := 0; i < n/2; i++ {
		swap(i, n-1-i)
	}
}

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// startZone starts a server with the test zone and its failing names.
func startZone(t testing.TB) *dnstest.Server {
	s := dnstest.Start(t)
	s.Add(zone...)
	s.ServFail("servfail.test.")
	s.ServFail("sf.test.")
	s.Drop("drop.test.")
	s.Truncate("trunc.test.")
	return s
}

// newTestResolver never uses this host's real addresses: only 127.0.0.1 is
// local, whatever the machine has.
func newTestResolver(t testing.TB, s *dnstest.Server, mod func(*Options)) *Resolver {
	t.Helper()
	o := Options{
		Resolvers:  []string{s.Addr},
		LocalAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		Timeout:    2 * time.Second, // generous: -race on a loaded machine; timeout tests set their own
		Shuffle:    noShuffle,
	}
	if mod != nil {
		mod(&o)
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// planString writes a plan compactly: "host/pref=addr,addr host/pref=addr".
func planString(p Plan) string {
	var b strings.Builder
	if p.Route != "" {
		fmt.Fprintf(&b, "route %s port %d: ", p.Route, p.Port)
	}
	for i, h := range p.Hosts {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s/%d=", h.Name, h.Pref)
		for j, a := range h.Addrs {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(a.String())
		}
	}
	return b.String()
}

func TestPlan(t *testing.T) {
	s := startZone(t)
	tests := []struct {
		name    string
		domain  string
		opts    func(*Options)
		want    string // planString, or
		wantErr string // Enhanced code; "4.1.2" and others imply Temporary by their first digit
		wantDom string // Plan.Domain when it differs from domain
	}{
		{name: "mx order", domain: "a.test",
			want: "mx1.a.test/10=2001:db8::11,127.0.0.11 mx1b.a.test/10=127.0.0.12 mx2.a.test/20=127.0.0.13"},
		{name: "equal preferences shuffled", domain: "a.test", opts: func(o *Options) { o.Shuffle = reverse },
			want: "mx1b.a.test/10=127.0.0.12 mx1.a.test/10=2001:db8::11,127.0.0.11 mx2.a.test/20=127.0.0.13"},
		{name: "case and trailing dot", domain: "A.Test.", wantDom: "a.test",
			want: "mx1.a.test/10=2001:db8::11,127.0.0.11 mx1b.a.test/10=127.0.0.12 mx2.a.test/20=127.0.0.13"},
		{name: "max addrs", domain: "a.test", opts: func(o *Options) { o.MaxAddrs = 2 },
			want: "mx1.a.test/10=2001:db8::11,127.0.0.11"},
		{name: "max addrs spans hosts", domain: "a.test", opts: func(o *Options) { o.MaxAddrs = 3 },
			want: "mx1.a.test/10=2001:db8::11,127.0.0.11 mx1b.a.test/10=127.0.0.12"},
		{name: "nodata falls back to A and AAAA", domain: "nodata.test",
			want: "nodata.test/0=2001:db8::20,127.0.0.20"},
		{name: "nxdomain", domain: "nx.test", wantErr: "5.1.2"},
		{name: "no mx no address", domain: "empty.test", wantErr: "5.4.4"},
		{name: "servfail", domain: "servfail.test", wantErr: "4.1.2"},
		{name: "timeout", domain: "drop.test", wantErr: "4.1.2"},
		{name: "null mx", domain: "null.test", wantErr: "5.1.10"},
		{name: "null mx among others ignored", domain: "nullmix.test", want: "mx2.a.test/10=127.0.0.13"},
		{name: "mx without address skipped", domain: "noaddr.test", want: "mx2.a.test/20=127.0.0.13"},
		{name: "every mx without address", domain: "alldead.test", wantErr: "5.4.4"},
		{name: "mx lookups failed temporarily", domain: "halfdead.test", wantErr: "4.1.2"},
		{name: "self by address", domain: "selfaddr.test", want: "mx1.a.test/10=2001:db8::11,127.0.0.11"},
		{name: "self best by address", domain: "selfbest.test", wantErr: "5.4.6"},
		{name: "self by me", domain: "selfme.test", opts: func(o *Options) { o.Me = "ME.test." },
			want: "mx2.a.test/10=127.0.0.13"},
		{name: "self best by me", domain: "selfmebest.test", opts: func(o *Options) { o.Me = "me.test" },
			wantErr: "5.4.6"},
		{name: "me unset", domain: "selfmebest.test",
			want: "me.test/5=127.0.0.99 mx2.a.test/10=127.0.0.13"},
		{name: "self as A fallback", domain: "selfa.test", wantErr: "5.4.6"},
		{name: "cname exchange", domain: "cnamemx.test", want: "alias.test/10=127.0.0.13"},
		{name: "cname domain", domain: "cnamedom.test",
			want: "mx1.a.test/10=2001:db8::11,127.0.0.11 mx1b.a.test/10=127.0.0.12 mx2.a.test/20=127.0.0.13"},
		{name: "idn", domain: "bücher.example", wantDom: "xn--bcher-kva.example", want: "mx2.a.test/10=127.0.0.13"},
		{name: "idn upper case", domain: "BÜCHER.example.", wantDom: "xn--bcher-kva.example", want: "mx2.a.test/10=127.0.0.13"},
		{name: "idn invalid", domain: "bü_cher.example", wantErr: "5.1.2"},
		{name: "not a domain", domain: "exa mple.com", wantErr: "5.1.2"},
		{name: "empty label", domain: "a..test", wantErr: "5.1.2"},
		{name: "literal", domain: "[127.0.0.5]", want: "/0=127.0.0.5"},
		{name: "literal ipv6", domain: "[IPv6:2001:db8::5]", want: "/0=2001:db8::5"},
		{name: "bare dotted quad", domain: "127.0.0.5", want: "/0=127.0.0.5"},
		{name: "literal of this host", domain: "[127.0.0.1]", wantErr: "5.4.6"},
		{name: "bad literal", domain: "[1.2.3]", wantErr: "5.1.2"},
		{name: "ipv4 tagged ipv6", domain: "[IPv6:1.2.3.4]", wantErr: "5.1.2"},
		{name: "ipv6 untagged", domain: "[2001:db8::5]", wantErr: "5.1.2"},
		{name: "truncated answer retried over tcp", domain: "trunc.test", want: "mx2.a.test/10=127.0.0.13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestResolver(t, s, tt.opts)
			p, err := r.Plan(context.Background(), tt.domain)
			if tt.wantErr != "" {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Plan(%q) = %s, %v; want *Error %s", tt.domain, planString(p), err, tt.wantErr)
				}
				if e.Enhanced != tt.wantErr || e.Temporary != (tt.wantErr[0] == '4') {
					t.Fatalf("Plan(%q) error %q (temporary %v); want %s", tt.domain, e, e.Temporary, tt.wantErr)
				}
				if !strings.HasSuffix(e.Text, "(#"+tt.wantErr+")") {
					t.Errorf("text %q does not end with (#%s)", e.Text, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Plan(%q): %v", tt.domain, err)
			}
			if got := planString(p); got != tt.want {
				t.Errorf("Plan(%q)\n got %s\nwant %s", tt.domain, got, tt.want)
			}
			wantDom := tt.wantDom
			if wantDom == "" {
				wantDom = tt.domain
			}
			if p.Domain != wantDom {
				t.Errorf("Domain = %q, want %q", p.Domain, wantDom)
			}
		})
	}
}

// TestPlanTexts pins qmail-remote's exact texts (qmail-remote.8).
func TestPlanTexts(t *testing.T) {
	s := startZone(t)
	r := newTestResolver(t, s, nil)
	tests := []struct{ domain, text string }{
		{"nx.test", "Sorry, I couldn't find any host named nx.test. (#5.1.2)"},
		{"empty.test", "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)"},
		{"servfail.test", "Sorry, I couldn't find any host by that name. (#4.1.2)"},
		{"null.test", "Sorry, null.test does not accept mail (null MX, RFC 7505). (#5.1.10)"},
		{"selfbest.test", "Sorry. Although I'm listed as a best-preference MX or A for that host,\n" +
			"it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)"},
	}
	for _, tt := range tests {
		_, err := r.Plan(context.Background(), tt.domain)
		var e *Error
		if !errors.As(err, &e) || e.Text != tt.text {
			t.Errorf("Plan(%q) = %v; want text %q", tt.domain, err, tt.text)
		}
	}
}

func TestPlanTemporaryCause(t *testing.T) {
	s := startZone(t)
	r := newTestResolver(t, s, func(o *Options) { o.Timeout = 100 * time.Millisecond })
	start := time.Now()
	_, err := r.Plan(context.Background(), "drop.test")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("timeout took %v", took)
	}
	var e *Error
	if !errors.As(err, &e) || !e.Temporary || e.Err == nil || !strings.Contains(e.Err.Error(), "timeout") {
		t.Fatalf("Plan(drop.test) = %v; want temporary error with the timeout as cause", err)
	}
}

func TestPlanNextResolver(t *testing.T) {
	bad := dnstest.Start(t)
	for _, n := range []string{"a.test.", "mx1.a.test.", "mx1b.a.test.", "mx2.a.test."} {
		bad.ServFail(n)
	}
	dead := dnstest.Start(t)
	for _, n := range []string{"a.test.", "mx1.a.test.", "mx1b.a.test.", "mx2.a.test."} {
		dead.Drop(n)
	}
	good := startZone(t)
	r := newTestResolver(t, good, func(o *Options) {
		o.Resolvers = []string{dead.Addr, bad.Addr, good.Addr}
		o.Timeout = 100 * time.Millisecond
	})
	p, err := r.Plan(context.Background(), "a.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hosts) != 3 || bad.Queries() == 0 || dead.Queries() == 0 {
		t.Errorf("plan %s; queries bad %d dead %d", planString(p), bad.Queries(), dead.Queries())
	}
}

func TestPlanCache(t *testing.T) {
	s := startZone(t)
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := newTestResolver(t, s, func(o *Options) { o.Now = c.now })
	ctx := context.Background()
	type step struct {
		advance time.Duration
		queries int // new queries made by a plan after advancing the clock
	}
	tests := []struct {
		domain string
		steps  []step
	}{
		// MX, then AAAA and A of three hosts, two of which have no AAAA:
		// those NODATA answers live for the SOA minimum (30 s), the rest 300 s.
		{"a.test", []step{{0, 7}, {29 * time.Second, 0}, {time.Second, 2}, {29 * time.Second, 0}, {241 * time.Second, 7}}},
		// NXDOMAIN, cached for the SOA minimum.
		{"nx.test", []step{{0, 1}, {29 * time.Second, 0}, {time.Second, 1}}},
		// NODATA for MX, AAAA and A.
		{"empty.test", []step{{0, 3}, {29 * time.Second, 0}, {time.Second, 3}}},
	}
	for _, tt := range tests {
		for i, st := range tt.steps {
			c.add(st.advance)
			before := s.Queries()
			if _, err := r.Plan(ctx, tt.domain); err != nil && !strings.Contains(err.Error(), "#5.") {
				t.Fatal(err)
			}
			if got := s.Queries() - before; got != st.queries {
				t.Errorf("%s step %d: plan made %d queries, want %d", tt.domain, i, got, st.queries)
			}
		}
	}
	// Temporary failures are not cached.
	before := s.Queries()
	r.Plan(ctx, "servfail.test")
	r.Plan(ctx, "servfail.test")
	if got := s.Queries() - before; got != 2 {
		t.Errorf("servfail asked %d times, want 2", got)
	}
}

func TestCacheBounded(t *testing.T) {
	s := startZone(t)
	r := newTestResolver(t, s, func(o *Options) { o.CacheSize = 3 })
	for _, d := range []string{"a.test", "nodata.test"} {
		if _, err := r.Plan(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.cache.len(); n != 3 {
		t.Errorf("cache holds %d answers, want 3", n)
	}
	// The newest answers survive: nodata.test's A is still cached.
	before := s.Queries()
	r.Plan(context.Background(), "nodata.test")
	if got := s.Queries() - before; got != 0 {
		t.Errorf("nodata.test asked again (%d queries)", got)
	}
}

func TestPlanSharedQueries(t *testing.T) {
	s := startZone(t)
	r := newTestResolver(t, s, nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := r.Plan(context.Background(), "a.test"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := s.Queries(); got != 7 {
		t.Errorf("20 concurrent plans made %d queries, want 7", got)
	}
}

func TestPlanRoutes(t *testing.T) {
	s := startZone(t)
	routes, err := ParseRoutes([]string{
		"a.test:route-relay.test:2525",
		".sub.test:[127.0.0.1]",
		"v6.test:[IPv6:2001:db8::99]:26",
		"mx.sub.test:",
		"deadrelay.test:missing.test",
		"emptyrelay.test:empty.test",
		"sfrelay.test:sf.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := newTestResolver(t, s, func(o *Options) { o.Routes = routes; o.Me = "route-relay.test" })
	tests := []struct {
		domain, want, wantErr string
	}{
		{"a.test", "route a.test:route-relay.test:2525 port 2525: route-relay.test/0=2001:db8::30,127.0.0.30", ""},
		{"x.sub.test", "route .sub.test:[127.0.0.1] port 0: /0=127.0.0.1", ""},
		{"v6.test", "route v6.test:[IPv6:2001:db8::99]:26 port 26: /0=2001:db8::99", ""},
		{"mx.sub.test", "", "5.1.2"}, // "use MX": no such domain in DNS
		{"deadrelay.test", "", "5.1.2"},
		{"emptyrelay.test", "", "5.4.4"},
		{"sfrelay.test", "", "4.1.2"},
	}
	for _, tt := range tests {
		p, err := r.Plan(context.Background(), tt.domain)
		if tt.wantErr != "" {
			var e *Error
			if !errors.As(err, &e) || e.Enhanced != tt.wantErr || e.Temporary != (tt.wantErr[0] == '4') {
				t.Errorf("Plan(%q) = %s, %v; want %s", tt.domain, planString(p), err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Plan(%q): %v", tt.domain, err)
			continue
		}
		if got := planString(p); got != tt.want {
			t.Errorf("Plan(%q)\n got %s\nwant %s", tt.domain, got, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	conf := dir + "/resolv.conf"
	if err := writeFile(conf, "search example\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n"); err != nil {
		t.Fatal(err)
	}
	empty := dir + "/empty.conf"
	if err := writeFile(empty, "# nothing\n"); err != nil {
		t.Fatal(err)
	}
	local := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	tests := []struct {
		name    string
		o       Options
		servers string
		wantErr string
	}{
		{name: "resolv.conf", o: Options{ResolvConf: conf, LocalAddrs: local}, servers: "192.0.2.53:53 [2001:db8::53]:53"},
		{name: "explicit", o: Options{Resolvers: []string{"127.0.0.1:5353"}, LocalAddrs: local}, servers: "127.0.0.1:5353"},
		{name: "bad resolver", o: Options{Resolvers: []string{"127.0.0.1"}}, wantErr: `resolver 1 "127.0.0.1"`},
		{name: "missing resolv.conf", o: Options{ResolvConf: dir + "/none"}, wantErr: dir + "/none"},
		{name: "no nameserver", o: Options{ResolvConf: empty}, wantErr: "names no nameserver"},
		{name: "negative max", o: Options{Resolvers: []string{"127.0.0.1:53"}, MaxAddrs: -1}, wantErr: "MaxAddrs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New = %v; want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(r.servers, " "); got != tt.servers {
				t.Errorf("servers %q, want %q", got, tt.servers)
			}
		})
	}
}

func BenchmarkPlanCached(b *testing.B) {
	s := startZone(b)
	r := newTestResolver(b, s, nil)
	ctx := context.Background()
	if _, err := r.Plan(ctx, "a.test"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Plan(ctx, "a.test"); err != nil {
			b.Fatal(err)
		}
	}
}
