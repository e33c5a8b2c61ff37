package mx

import (
	"context"
	"encoding/hex"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/mx/dnstest"
)

const (
	eeHash = "8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1"
	taHash = "0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"
)

// secZone has a signed zone sec.test. and an unsigned one insec.test.
var secZone = []string{
	"sec.test. 300 IN MX 10 mx.sec.test.",
	"sec.test. 300 IN MX 20 mx.insec.test.",
	"mx.sec.test. 300 IN A 127.0.0.41",
	"mx.sec.test. 300 IN AAAA 2001:db8::41",
	"_25._tcp.mx.sec.test. 300 IN TLSA 3 1 1 " + eeHash,
	"_25._tcp.mx.sec.test. 300 IN TLSA 2 0 1 " + taHash,
	"_2525._tcp.mx.sec.test. 300 IN TLSA 3 1 1 " + eeHash,
	"mx.insec.test. 300 IN A 127.0.0.42",
	"_25._tcp.mx.insec.test. 300 IN TLSA 3 1 1 " + eeHash,
	"insec.test. 300 IN MX 10 mx.sec.test.",
	"nomx.sec.test. 300 IN A 127.0.0.43",
	"nomx.insec.test. 300 IN A 127.0.0.44",
	"mixed.sec.test. 300 IN MX 10 mx.insec.test.",
	"notlsa.sec.test. 300 IN A 127.0.0.45",
	"bogus.sec.test. 300 IN A 127.0.0.46",
	"slow.sec.test. 300 IN A 127.0.0.47",
	"cn.sec.test. 300 IN CNAME mx.sec.test.",
	"cnins.sec.test. 300 IN CNAME mx.insec.test.",
	"cnmx.sec.test. 300 IN MX 10 cn.sec.test.",
	"cnboth.sec.test. 300 IN CNAME notlsa.sec.test.",
	"_25._tcp.cnboth.sec.test. 300 IN TLSA 3 0 1 " + taHash,
	"tlsacname.sec.test. 300 IN A 127.0.0.48",
	"_25._tcp.tlsacname.sec.test. 300 IN CNAME _dane.sec.test.",
	"_dane.sec.test. 300 IN TLSA 2 1 2 " + eeHash + eeHash,
	"_mta-sts.sec.test. 300 IN TXT \"v=STSv1; id=\" \"20240101;\"",
	"_mta-sts.two.test. 300 IN TXT \"v=STSv1; id=a;\"",
	"_mta-sts.two.test. 300 IN TXT \"spf\"",
	"_mta-sts.esc.test. 300 IN TXT \"a\\\"b\\\\c\\010d;\"",
	"_mta-sts.nodata.test. 300 IN A 127.0.0.49",
}

// startSecZone starts a validating test resolver on ip holding secZone.
func startSecZone(t testing.TB, ip string) *dnstest.Server {
	s := dnstest.StartOn(t, ip)
	s.Add(secZone...)
	s.Secure("sec.test.")
	s.ServFail("_25._tcp.bogus.sec.test.")
	s.Drop("_25._tcp.slow.sec.test.")
	s.ServFail("_mta-sts.fail.test.")
	return s
}

func TestTrustedServers(t *testing.T) {
	listed := []netip.Addr{netip.MustParseAddr("192.0.2.53"), netip.MustParseAddr("2001:db8::53")}
	tests := []struct {
		server     string
		onlyListed bool
		want       bool
	}{
		{"127.0.0.1:53", false, true},
		{"127.0.0.2:5353", false, true},
		{"[::1]:53", false, true},
		{"[::ffff:127.0.0.1]:53", false, true},
		{"127.0.0.1:53", true, false},
		{"192.0.2.53:53", false, true},
		{"192.0.2.53:53", true, true},
		{"[2001:db8::53]:53", true, true},
		{"192.0.2.54:53", false, false},
		{"localhost:53", false, false},
		{"[fe80::1%eth0]:53", false, false},
	}
	for _, tt := range tests {
		got := trustedServers([]string{tt.server}, listed, tt.onlyListed)
		if got[0] != tt.want {
			t.Errorf("trusted(%s, only listed %v) = %v, want %v", tt.server, tt.onlyListed, got[0], tt.want)
		}
	}
}

// secureString writes whether a plan and each of its hosts are secure:
// "plan+ mx.sec.test+ mx.insec.test-".
func secureString(p Plan) string {
	mark := func(b bool) string {
		if b {
			return "+"
		}
		return "-"
	}
	parts := []string{"plan" + mark(p.Secure)}
	for _, h := range p.Hosts {
		s := h.Name + mark(h.Secure)
		if h.CNAME != "" {
			s += "(" + h.CNAME + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestPlanSecure(t *testing.T) {
	trusted := startSecZone(t, "127.0.0.1")
	second := startSecZone(t, "127.0.0.2")
	loopback := func(o *Options) {}
	untrustedLoopback := func(o *Options) {
		o.Resolvers = []string{second.Addr}
		o.TrustOnlyListed = true
		o.TrustedResolvers = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	}
	listedLoopback := func(o *Options) {
		o.Resolvers = []string{second.Addr}
		o.TrustOnlyListed = true
		o.TrustedResolvers = []netip.Addr{netip.MustParseAddr("127.0.0.2")}
	}
	trustNone := func(o *Options) { o.TrustOnlyListed = true }
	tests := []struct {
		name   string
		domain string
		opts   func(*Options)
		want   string
	}{
		{"mx secure, hosts mixed", "sec.test", loopback, "plan+ mx.sec.test+ mx.insec.test-"},
		{"insecure mx", "insec.test", loopback, "plan- mx.sec.test+"},
		{"secure mx to insecure host", "mixed.sec.test", loopback, "plan+ mx.insec.test-"},
		{"no mx, secure address", "nomx.sec.test", loopback, "plan+ nomx.sec.test+"},
		{"no mx, insecure address", "nomx.insec.test", loopback, "plan- nomx.insec.test-"},
		{"secure cname exchange", "cnmx.sec.test", loopback, "plan+ cn.sec.test+(mx.sec.test)"},
		{"literal", "[127.0.0.5]", loopback, "plan- -"},
		{"AD ignored from untrusted loopback", "sec.test", untrustedLoopback, "plan- mx.sec.test- mx.insec.test-"},
		{"AD believed from listed loopback", "sec.test", listedLoopback, "plan+ mx.sec.test+ mx.insec.test-"},
		{"trust none", "sec.test", trustNone, "plan- mx.sec.test- mx.insec.test-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestResolver(t, trusted, tt.opts)
			p, err := r.Plan(context.Background(), tt.domain)
			if err != nil {
				t.Fatal(err)
			}
			if got := secureString(p); got != tt.want {
				t.Errorf("Plan(%q) = %s, want %s", tt.domain, got, tt.want)
			}
		})
	}
}

func TestPlanSecureRoute(t *testing.T) {
	s := startSecZone(t, "127.0.0.1")
	routes, err := ParseRoutes([]string{"a.test:mx.sec.test", "b.test:mx.insec.test", "c.test:[127.0.0.9]"})
	if err != nil {
		t.Fatal(err)
	}
	r := newTestResolver(t, s, func(o *Options) { o.Routes = routes })
	for domain, want := range map[string]string{
		"a.test": "plan+ mx.sec.test+",
		"b.test": "plan+ mx.insec.test-",
		"c.test": "plan+ -",
	} {
		p, err := r.Plan(context.Background(), domain)
		if err != nil {
			t.Fatal(err)
		}
		if got := secureString(p); got != want {
			t.Errorf("Plan(%q) = %s, want %s", domain, got, want)
		}
	}
}

// tlsaString writes a result compactly: "name+ 3 1 1 8cb0fc6c...".
func tlsaString(res TLSAResult) string {
	var b strings.Builder
	b.WriteString(res.Name)
	if res.Secure {
		b.WriteByte('+')
	} else {
		b.WriteByte('-')
	}
	for _, r := range res.Records {
		b.WriteString(" ")
		b.WriteString(strings.Join([]string{string('0' + r.Usage), string('0' + r.Selector),
			string('0' + r.MatchingType), hex.EncodeToString(r.Data)[:8]}, " "))
	}
	return b.String()
}

func TestTLSA(t *testing.T) {
	trusted := startSecZone(t, "127.0.0.1")
	second := startSecZone(t, "127.0.0.2")
	untrusted := func(o *Options) {
		o.Resolvers = []string{second.Addr}
		o.TrustOnlyListed = true
	}
	tests := []struct {
		name    string
		host    string
		port    int
		opts    func(*Options)
		want    string
		wantErr bool
	}{
		{name: "present", host: "mx.sec.test", port: 25, want: "mx.sec.test+ 3 1 1 8cb0fc6c 2 0 1 0c72ac70"},
		{name: "other port", host: "MX.sec.test.", port: 2525, want: "mx.sec.test+ 3 1 1 8cb0fc6c"},
		{name: "absent, secure denial", host: "notlsa.sec.test", port: 25, want: "notlsa.sec.test+"},
		{name: "nxdomain, secure", host: "none.sec.test", port: 25, want: "none.sec.test+"},
		{name: "insecure zone", host: "mx.insec.test", port: 25, want: "mx.insec.test-"},
		{name: "through cname", host: "tlsacname.sec.test", port: 25, want: "tlsacname.sec.test+ 2 1 2 8cb0fc6c"},
		{name: "untrusted resolver", host: "mx.sec.test", port: 25, opts: untrusted, want: "mx.sec.test-"},
		{name: "bogus", host: "bogus.sec.test", port: 25, wantErr: true},
		{name: "timeout", host: "slow.sec.test", port: 25, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestResolver(t, trusted, func(o *Options) {
				o.Timeout = 200 * time.Millisecond
				if tt.opts != nil {
					tt.opts(o)
				}
			})
			res, err := r.TLSA(context.Background(), tt.host, tt.port)
			if tt.wantErr {
				var e *Error
				if !errors.As(err, &e) || !e.Temporary || e.Enhanced != "4.7.5" ||
					e.Text != "TLSA lookup error for "+tt.host+":25" {
					t.Fatalf("TLSA(%s) = %s, %v; want a temporary *Error", tt.host, tlsaString(res), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tlsaString(res); got != tt.want {
				t.Errorf("TLSA(%s, %d) = %s, want %s", tt.host, tt.port, got, tt.want)
			}
		})
	}
}

func TestTLSABadArguments(t *testing.T) {
	s := startSecZone(t, "127.0.0.1")
	r := newTestResolver(t, s, nil)
	for _, c := range []struct {
		host string
		port int
	}{{"", 25}, {"mx.sec.test", 0}, {"mx.sec.test", 65536}} {
		if _, err := r.TLSA(context.Background(), c.host, c.port); err == nil {
			t.Errorf("TLSA(%q, %d) gave no error", c.host, c.port)
		}
	}
}

func TestHostTLSA(t *testing.T) {
	s := startSecZone(t, "127.0.0.1")
	r := newTestResolver(t, s, nil)
	ctx := context.Background()
	tests := []struct {
		name, domain, host string // host: a name to plan as an smtproutes relay instead
		want               string
	}{
		{name: "mx host", domain: "sec.test", want: "mx.sec.test+ 3 1 1 8cb0fc6c 2 0 1 0c72ac70"},
		// RFC 7672 §2.2.2: the expanded name first.
		{name: "secure cname, records at target", domain: "cnmx.sec.test", want: "mx.sec.test+ 3 1 1 8cb0fc6c 2 0 1 0c72ac70"},
		// ... and the original name when the target has none.
		{name: "secure cname, records at name", host: "cnboth.sec.test", want: "cnboth.sec.test+ 3 0 1 0c72ac70"},
		{name: "insecure cname target", host: "cnins.sec.test", want: "cnins.sec.test-"},
		{name: "insecure host", host: "mx.insec.test", want: "mx.insec.test-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := r
			domain := tt.domain
			if tt.host != "" {
				routes, err := ParseRoutes([]string{"route.test:" + tt.host})
				if err != nil {
					t.Fatal(err)
				}
				rr = newTestResolver(t, s, func(o *Options) { o.Routes = routes })
				domain = "route.test"
			}
			p, err := rr.Plan(ctx, domain)
			if err != nil {
				t.Fatal(err)
			}
			before := s.Queries()
			res, err := rr.HostTLSA(ctx, p.Hosts[0], 25)
			if err != nil {
				t.Fatal(err)
			}
			if got := tlsaString(res); got != tt.want {
				t.Errorf("HostTLSA(%+v) = %s, want %s", p.Hosts[0], got, tt.want)
			}
			if !p.Hosts[0].Secure && s.Queries() != before {
				t.Errorf("TLSA asked for a host with insecure addresses")
			}
		})
	}
	if res, err := r.HostTLSA(ctx, Host{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}, 25); err != nil || res.Secure {
		t.Errorf("HostTLSA(literal) = %+v, %v", res, err)
	}
}

// TestBogusNotPassedOn: after a trusted resolver's SERVFAIL an untrusted one is
// not asked, or its insecure answer would switch DANE off for a bogus name.
func TestBogusNotPassedOn(t *testing.T) {
	validating := startSecZone(t, "127.0.0.1")
	validating.ServFail("_25._tcp.mx.sec.test.")
	other := startSecZone(t, "127.0.0.2")
	r := newTestResolver(t, validating, func(o *Options) {
		o.Resolvers = []string{validating.Addr, other.Addr}
		o.TrustOnlyListed = true
		o.TrustedResolvers = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	})
	_, err := r.TLSA(context.Background(), "mx.sec.test", 25)
	var e *Error
	if !errors.As(err, &e) || !e.Temporary {
		t.Fatalf("TLSA = %v, want a temporary error", err)
	}
	if n := other.Queries(); n != 0 {
		t.Errorf("untrusted resolver asked %d times after the trusted one failed", n)
	}
	// An untrusted resolver failing first still passes on to a trusted one.
	other.ServFail("_25._tcp.notlsa.sec.test.")
	r = newTestResolver(t, validating, func(o *Options) {
		o.Resolvers = []string{other.Addr, validating.Addr}
		o.TrustOnlyListed = true
		o.TrustedResolvers = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	})
	res, err := r.TLSA(context.Background(), "notlsa.sec.test", 25)
	if err != nil || !res.Secure {
		t.Errorf("TLSA = %s, %v; want a secure denial from the trusted resolver", tlsaString(res), err)
	}
}

func TestTXT(t *testing.T) {
	s := startSecZone(t, "127.0.0.1")
	r := newTestResolver(t, s, func(o *Options) { o.Timeout = 200 * time.Millisecond })
	s.Drop("_mta-sts.drop.test.")
	tests := []struct {
		name    string
		want    []string
		wantErr bool
	}{
		{name: "_mta-sts.sec.test", want: []string{"v=STSv1; id=20240101;"}},
		{name: "_MTA-STS.sec.test.", want: []string{"v=STSv1; id=20240101;"}},
		{name: "_mta-sts.two.test", want: []string{"spf", "v=STSv1; id=a;"}},
		{name: "_mta-sts.esc.test", want: []string{"a\"b\\c\nd;"}},
		{name: "_mta-sts.none.test"},
		{name: "_mta-sts.nodata.test"},
		{name: "_mta-sts.fail.test", wantErr: true},
		{name: "_mta-sts.drop.test", wantErr: true},
	}
	for _, tt := range tests {
		got, err := r.TXT(context.Background(), tt.name)
		if tt.wantErr {
			var e *Error
			if !errors.As(err, &e) || !e.Temporary {
				t.Errorf("TXT(%s) = %q, %v; want a temporary *Error", tt.name, got, err)
			}
			continue
		}
		slices.Sort(got)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("TXT(%s) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}
