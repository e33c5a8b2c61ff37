package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/qsend/qsend/tls/certfile/certtest"
	"github.com/qsend/qsend/tls/dane"
)

// TestPrecedence sets up every pair of sources at once and checks that the
// earlier one in the documented order decides.
func TestPrecedence(t *testing.T) {
	ca := certtest.NewCA(t, "Precedence CA")
	leaf := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	pin := fmt.Sprintf("sha256:%s", strings.Repeat("00", 32))
	type setup struct {
		dir   string
		table map[string]Rule
		in    *Input
	}
	sources := []struct {
		name   string
		source string
		level  Level
		apply  func(t *testing.T, s *setup)
	}{
		{"pem", "tlshosts/mx.example.com.pem", Verify, func(t *testing.T, s *setup) { write(t, s.dir, "tlshosts/mx.example.com.pem", ca.PEM()) }},
		{"notlshosts", "notlshosts/mx.example.com", None, func(t *testing.T, s *setup) { write(t, s.dir, "notlshosts/mx.example.com", nil) }},
		{"table mx", "table:mx.example.com", Encrypt, func(t *testing.T, s *setup) { s.table["MX.example.com"] = Rule{Level: Encrypt} }},
		{"table domain", "table:shop.example.com", Fingerprint, func(t *testing.T, s *setup) {
			s.table["shop.example.com"] = Rule{Level: Fingerprint, Pins: []string{pin}}
		}},
		{"table parent", "table:.example.com", Secure, func(t *testing.T, s *setup) { s.table[".example.com"] = Rule{Level: Secure} }},
		{"exhaustivelist", "exhaustivelist", None, func(t *testing.T, s *setup) { write(t, s.dir, "tlshosts/exhaustivelist", nil) }},
		{"dane", "dane", Dane, func(t *testing.T, s *setup) {
			s.in.TLSA, s.in.TLSASecure = []dane.TLSA{dane.Record(leaf.Cert, dane.DANEEE, dane.SPKI, dane.SHA256)}, true
		}},
		{"mta-sts", "mta-sts", Verify, func(t *testing.T, s *setup) { s.in.STS = &STS{Mode: "enforce", MX: []string{"*.example.com"}} }},
		{"default", "default", May, func(t *testing.T, s *setup) {}},
	}
	run := func(t *testing.T, picks ...int) {
		t.Helper()
		s := &setup{dir: t.TempDir(), table: map[string]Rule{}, in: &Input{Domain: "shop.example.com", Host: "mx.example.com"}}
		for _, i := range picks {
			sources[i].apply(t, s)
		}
		e := newEngine(t, Options{ControlDir: s.dir, Table: s.table})
		d, err := e.Decide(*s.in)
		if err != nil {
			t.Fatalf("Decide: %v", err)
		}
		want := sources[picks[0]]
		if d.Source != want.source || d.Level != want.level {
			t.Errorf("got %v from %q, want %v from %q", d.Level, d.Source, want.level, want.source)
		}
	}
	for i := range sources {
		t.Run(sources[i].name, func(t *testing.T) { run(t, i) })
		for j := i + 1; j < len(sources); j++ {
			t.Run(sources[i].name+" over "+sources[j].name, func(t *testing.T) { run(t, i, j) })
		}
	}
}

func TestTableLookup(t *testing.T) {
	table := map[string]Rule{
		"example.com":        {Level: Encrypt},
		".example.com":       {Level: Secure},
		".sub.example.com":   {Level: Verify},
		"relay.example.net":  {Level: Encrypt},
		".example.org":       {Level: None},
		"mx.provider.net.":   {Level: Verify},
		"[192.0.2.7]":        {Level: Encrypt},
		"hosted.example.biz": {Level: Dane},
	}
	e := newEngine(t, Options{Table: table})
	tests := []struct {
		in     Input
		source string
		level  Level
	}{
		{Input{Domain: "example.com", Host: "mx.other.net"}, "table:example.com", Encrypt},
		{Input{Domain: "Example.COM.", Host: "mx.other.net"}, "table:example.com", Encrypt},
		{Input{Domain: "a.example.com", Host: "mx.other.net"}, "table:.example.com", Secure},
		{Input{Domain: "a.b.example.com", Host: "mx.other.net"}, "table:.example.com", Secure},
		{Input{Domain: "a.sub.example.com", Host: "mx.other.net"}, "table:.sub.example.com", Verify},
		{Input{Domain: "sub.example.com", Host: "mx.other.net"}, "table:.example.com", Secure},
		{Input{Domain: "example.org", Host: "mx.other.net"}, "default", May},
		{Input{Domain: "x.example.org", Host: "mx.other.net"}, "table:.example.org", None},
		{Input{Domain: "customer.test", Host: "MX.Provider.NET"}, "table:mx.provider.net", Verify},
		// Under a route the relay is the next hop, not the recipient domain.
		{Input{Domain: "example.com", Host: "relay.example.net", Routed: true}, "table:relay.example.net", Encrypt},
		{Input{Domain: "example.com", Host: "smart.example.info", Routed: true}, "default", May},
		{Input{Domain: "[192.0.2.7]"}, "table:[192.0.2.7]", Encrypt},
		// dane without secure TLSA records is may.
		{Input{Domain: "hosted.example.biz", Host: "mx.hosted.example.biz"}, "table:hosted.example.biz", May},
	}
	for _, tc := range tests {
		d, err := e.Decide(tc.in)
		if err != nil {
			t.Errorf("%+v: %v", tc.in, err)
			continue
		}
		if d.Source != tc.source || d.Level != tc.level {
			t.Errorf("%+v: %v from %q, want %v from %q", tc.in, d.Level, d.Source, tc.level, tc.source)
		}
	}
}

func TestNew(t *testing.T) {
	bad := []Options{
		{Default: Fingerprint},
		{Default: Level(42)},
		{Table: map[string]Rule{"": {Level: May}}},
		{Table: map[string]Rule{"x": {Level: Fingerprint}}},
		{Table: map[string]Rule{"x": {}}},
		{Table: map[string]Rule{"Example.com": {Level: May}, "example.com.": {Level: None}}},
	}
	for _, o := range bad {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	e := newEngine(t, Options{})
	d, err := e.Decide(Input{Domain: "example.com", Host: "mx.example.com"})
	if err != nil || d.Level != May || d.Source != "default" || d.Rule.MinVersion != 0x0303 {
		t.Errorf("zero options: %+v, %v", d, err)
	}
}

// TestDaneDecide covers how TLSA records settle the level.
func TestDaneDecide(t *testing.T) {
	ca := certtest.NewCA(t, "DANE CA")
	leaf := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	ee := dane.Record(leaf.Cert, dane.DANEEE, dane.SPKI, dane.SHA256)
	pkix := dane.Record(leaf.Cert, dane.PKIXEE, dane.SPKI, dane.SHA256)
	lookupErr := errors.New("SERVFAIL")
	only := map[string]Rule{"only.example": {Level: DaneOnly}, "opt.example": {Level: Dane}}
	tests := []struct {
		name  string
		in    Input
		level Level
		fail  string
	}{
		{name: "usable records", in: Input{TLSA: []dane.TLSA{ee}, TLSASecure: true}, level: Dane},
		{name: "only unusable records", in: Input{TLSA: []dane.TLSA{pkix}, TLSASecure: true}, level: Encrypt},
		{name: "insecure records ignored", in: Input{TLSA: []dane.TLSA{ee}}, level: May},
		{name: "lookup failed", in: Input{TLSAErr: lookupErr}, level: Dane, fail: "TLS unable to look up TLSA records of mx.example.com: SERVFAIL"},
		{name: "dane-only without records", in: Input{Domain: "only.example"}, level: DaneOnly, fail: "No TLS achieved while dane-only requires TLSA records for mx.example.com"},
		{name: "dane-only with unusable records", in: Input{Domain: "only.example", TLSA: []dane.TLSA{pkix}, TLSASecure: true}, level: DaneOnly, fail: "usable TLSA records"},
		{name: "dane-only with records", in: Input{Domain: "only.example", TLSA: []dane.TLSA{ee}, TLSASecure: true}, level: Dane},
		{name: "dane in the table, lookup failed", in: Input{Domain: "opt.example", TLSAErr: lookupErr}, level: Dane, fail: "SERVFAIL"},
		{name: "no table entry, lookup failed", in: Input{Domain: "other.example", TLSAErr: lookupErr}, level: Dane, fail: "SERVFAIL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, Options{Table: only})
			in := tc.in
			in.Host = "mx.example.com"
			if in.Domain == "" {
				in.Domain = "example.com"
			}
			d, err := e.Decide(in)
			if got := failureText(t, err); !strings.Contains(got, tc.fail) || (tc.fail == "") != (got == "") {
				t.Fatalf("Decide error %q, want %q", got, tc.fail)
			}
			if d.Level != tc.level {
				t.Errorf("level %v, want %v", d.Level, tc.level)
			}
		})
	}
}

// TestDaneNeverLowers checks that TLSA records raise the configured level
// and never lower it (RFC 7672 §2.2): records that are all unusable leave
// verify and secure in force, and are a deferral under dane-only.
func TestDaneNeverLowers(t *testing.T) {
	ca := certtest.NewCA(t, "DANE CA")
	leaf := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	ee := dane.Record(leaf.Cert, dane.DANEEE, dane.SPKI, dane.SHA256)
	unusable := []dane.TLSA{
		dane.Record(leaf.Cert, dane.PKIXTA, dane.SPKI, dane.SHA256),
		dane.Record(leaf.Cert, dane.PKIXEE, dane.Cert, dane.SHA256),
	}
	sts := &STS{Mode: "enforce", MX: []string{"mx.example.com"}}
	tests := []struct {
		name       string
		def        Level
		recs       []dane.TLSA
		sts        *STS
		level      Level
		source     string
		fail       string
		checksCert bool
	}{
		{name: "may, unusable", def: May, recs: unusable, level: Encrypt, source: "dane"},
		{name: "none, unusable", def: None, recs: unusable, level: Encrypt, source: "dane"},
		{name: "encrypt, unusable", def: Encrypt, recs: unusable, level: Encrypt, source: "dane"},
		{name: "dane, unusable", def: Dane, recs: unusable, level: Encrypt, source: "dane"},
		{name: "verify, unusable", def: Verify, recs: unusable, level: Verify, source: "default", checksCert: true},
		{name: "secure, unusable", def: Secure, recs: unusable, level: Secure, source: "default", checksCert: true},
		{name: "dane-only, unusable", def: DaneOnly, recs: unusable, level: DaneOnly, source: "dane",
			fail: "No TLS achieved while dane-only requires usable TLSA records for mx.example.com"},
		{name: "may, unusable, MTA-STS enforce", def: May, recs: unusable, sts: sts, level: Verify, source: "mta-sts", checksCert: true},
		{name: "secure, usable", def: Secure, recs: []dane.TLSA{ee}, level: Dane, source: "dane", checksCert: true},
		{name: "dane-only, usable", def: DaneOnly, recs: []dane.TLSA{ee}, level: Dane, source: "dane", checksCert: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, Options{Default: tc.def})
			d, err := e.Decide(Input{Domain: "example.com", Host: "mx.example.com", TLSA: tc.recs, TLSASecure: true, STS: tc.sts})
			if got := failureText(t, err); got != tc.fail {
				t.Fatalf("Decide error %q, want %q", got, tc.fail)
			}
			if d.Level != tc.level || d.Source != tc.source {
				t.Errorf("%v from %q, want %v from %q", d.Level, d.Source, tc.level, tc.source)
			}
			if err == nil && !d.Required() {
				t.Errorf("TLS not required")
			}
			if got := d.kind != kindNone; got != tc.checksCert {
				t.Errorf("certificate checked: %v, want %v", got, tc.checksCert)
			}
		})
	}
}

// TestSTSDecide covers MTA-STS before connecting.
func TestSTSDecide(t *testing.T) {
	policy := &STS{Mode: "enforce", MX: []string{"*.example.net"}}
	testing_ := &STS{Mode: "testing", MX: []string{"*.example.net"}}
	tests := []struct {
		name     string
		opts     Options
		in       Input
		source   string
		required bool
		fail     string
		warning  string
	}{
		{name: "enforce, listed", in: Input{Host: "mx1.example.net", STS: policy}, source: "mta-sts", required: true},
		{name: "enforce, one label only", in: Input{Host: "a.mx1.example.net", STS: policy}, source: "mta-sts", required: true,
			fail: "TLS unable to verify server a.mx1.example.net: MTA-STS: the policy of example.com does not list this MX host"},
		{name: "enforce, bare domain", in: Input{Host: "example.net", STS: policy}, source: "mta-sts", required: true, fail: "does not list"},
		{name: "testing, listed", in: Input{Host: "mx1.example.net", STS: testing_}, source: "mta-sts"},
		{name: "testing, not listed", in: Input{Host: "mx.other.org", STS: testing_}, source: "mta-sts",
			warning: "TLS unable to verify server mx.other.org: MTA-STS: the policy of example.com does not list this MX host"},
		{name: "testing under a stricter default", opts: Options{Default: Encrypt}, in: Input{Host: "mx.other.org", STS: testing_}, source: "default", required: true},
		{name: "mode none", in: Input{Host: "mx.other.org", STS: &STS{Mode: "none"}}, source: "default"},
		{name: "routed mail ignores STS", in: Input{Host: "relay.local", Routed: true, STS: policy}, source: "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, tc.opts)
			in := tc.in
			in.Domain = "example.com"
			d, err := e.Decide(in)
			if got := failureText(t, err); got != tc.fail && !(tc.fail != "" && strings.Contains(got, tc.fail)) {
				t.Fatalf("Decide error %q, want %q", got, tc.fail)
			}
			if d.Source != tc.source || d.Required() != tc.required || d.Warning != tc.warning {
				t.Errorf("source %q required %v warning %q; want %q %v %q", d.Source, d.Required(), d.Warning, tc.source, tc.required, tc.warning)
			}
		})
	}
}

func TestTexts(t *testing.T) {
	e := newEngine(t, Options{Default: Encrypt, Table: map[string]Rule{"example.com": {Level: Verify}}})
	sts := &STS{Mode: "enforce", MX: []string{"mx.example.org"}}
	tests := []struct {
		in         Input
		noTLS, rej string
	}{
		{Input{Domain: "example.com", Host: "mx.example.com"},
			"No TLS achieved while TLS is required by tls.policy.example.com (verify)",
			"STARTTLS rejected while TLS is required by tls.policy.example.com (verify)"},
		{Input{Domain: "example.net", Host: "mx.example.net"},
			"No TLS achieved while TLS is required by tls.default_level (encrypt)",
			"STARTTLS rejected while TLS is required by tls.default_level (encrypt)"},
		{Input{Domain: "example.org", Host: "mx.example.org", STS: sts},
			"No TLS achieved while TLS is required by the MTA-STS policy of example.org",
			"STARTTLS rejected while TLS is required by the MTA-STS policy of example.org"},
		{Input{Domain: "example.info", Host: "mx.example.info", TLSASecure: true, TLSA: []dane.TLSA{{Usage: 3, Selector: 1, MatchingType: 1, Data: make([]byte, 32)}}},
			"No TLS achieved while TLS is required by the TLSA records of mx.example.info",
			"STARTTLS rejected while TLS is required by the TLSA records of mx.example.info"},
	}
	for _, tc := range tests {
		d, err := e.Decide(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if d.NoTLSText() != tc.noTLS || d.RejectedText() != tc.rej {
			t.Errorf("%s: %q / %q\nwant %q / %q", tc.in.Domain, d.NoTLSText(), d.RejectedText(), tc.noTLS, tc.rej)
		}
	}
}
