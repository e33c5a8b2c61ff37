package remote

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/certfile/certtest"
	"github.com/qsend/qsend/tls/mtasts"
	"github.com/qsend/qsend/tls/policy"
)

// probeCase is one server and control directory, and what Probe must
// report for mx.example.test at 127.0.0.2.
type probeCase struct {
	name    string
	tls     bool                                // the server offers STARTTLS
	tls11   bool                                // the server speaks TLS 1.1 at most
	reply   func(cmd, arg string) (int, string) // the server's scripted replies
	files   func(dir string, right, wrong *certtest.CA)
	level   string
	source  string
	offered bool
	onTLS   bool
	verdict string // prefix
	class   string
	action  string // prefix; "deliver" or "defer: ..."
}

func TestProbe(t *testing.T) {
	pem := func(ca func(right, wrong *certtest.CA) *certtest.CA) func(string, *certtest.CA, *certtest.CA) {
		return func(dir string, right, wrong *certtest.CA) {
			ca(right, wrong).WritePEM(t, filepath.Join(dir, "tlshosts", "mx.example.test.pem"))
		}
	}
	rightCA := func(right, _ *certtest.CA) *certtest.CA { return right }
	wrongCA := func(_, wrong *certtest.CA) *certtest.CA { return wrong }
	cases := []probeCase{
		{
			name: "verified pem", tls: true, files: pem(rightCA),
			level: "verify", source: "tlshosts/mx.example.test.pem", offered: true, onTLS: true,
			verdict: VerdictOK, class: policy.Verified, action: ActionDeliver,
		},
		{
			name: "wrong CA", tls: true, files: pem(wrongCA),
			level: "verify", source: "tlshosts/mx.example.test.pem", offered: true, onTLS: true,
			verdict: "TLS unable to verify server with control/tlshosts/mx.example.test.pem: unable to get local issuer certificate",
			class:   "failed",
			action:  "defer: TLS unable to verify server with control/tlshosts/mx.example.test.pem: unable to get local issuer certificate; connected to 127.0.0.2.",
		},
		{
			name: "no STARTTLS with a pem", tls: false, files: pem(rightCA),
			level: "verify", source: "tlshosts/mx.example.test.pem", offered: false, onTLS: false,
			verdict: VerdictNoTLS, class: "failed",
			action: "defer: No TLS achieved while control/tlshosts/mx.example.test.pem exists; connecting to 127.0.0.2.",
		},
		{
			name: "STARTTLS refused with a pem", tls: true, files: pem(rightCA),
			reply: func(cmd, _ string) (int, string) {
				if cmd == "STARTTLS" {
					return 454, "4.7.0 TLS not available due to temporary reason"
				}
				return 0, ""
			},
			level: "verify", source: "tlshosts/mx.example.test.pem", offered: true, onTLS: false,
			verdict: VerdictNoTLS, class: "failed",
			action: "defer: STARTTLS rejected while control/tlshosts/mx.example.test.pem exists; connecting to 127.0.0.2.\n" +
				"Remote host said: 454 4.7.0 TLS not available due to temporary reason",
		},
		{
			name: "notlshosts", tls: true,
			files: func(dir string, _, _ *certtest.CA) {
				probeWriteFile(t, filepath.Join(dir, "notlshosts", "mx.example.test"), "")
			},
			level: "none", source: "notlshosts/mx.example.test", offered: true, onTLS: false,
			verdict: VerdictNoTLS, class: "plain", action: ActionDeliver,
		},
		{
			name: "default may", tls: true, files: func(string, *certtest.CA, *certtest.CA) {},
			level: "may", source: "default", offered: true, onTLS: true,
			verdict: VerdictNoCheck + " (may)", class: policy.Unverified, action: ActionDeliver,
		},
		{
			name: "default may, handshake failure", tls: true, tls11: true, files: func(string, *certtest.CA, *certtest.CA) {},
			level: "may", source: "default", offered: true, onTLS: false,
			verdict: VerdictNoTLS, class: "failed", action: "defer: TLS connect failed: ",
		},
		{
			name: "default may without STARTTLS", tls: false, files: func(string, *certtest.CA, *certtest.CA) {},
			level: "may", source: "default", offered: false, onTLS: false,
			verdict: VerdictNoTLS, class: "plain", action: ActionDeliver,
		},
	}
	right := certtest.NewCA(t, "Right CA")
	wrong := certtest.NewCA(t, "Wrong CA")
	leaf := right.Issue(t, certtest.Options{CommonName: "mx.example.test", DNSNames: []string{"mx.example.test"}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.dns.Add("example.test. 60 IN MX 10 mx.example.test.", "mx.example.test. 60 IN A 127.0.0.2")
			cfg := smtptest.Config{Reply: c.reply}
			if c.tls {
				cfg.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}}
				if c.tls11 {
					cfg.TLS.MaxVersion = tls.VersionTLS11
				}
			}
			srv := w.server("127.0.0.2", cfg)
			dir := t.TempDir()
			for _, d := range []string{"tlshosts", "notlshosts"} {
				if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			c.files(dir, right, wrong)
			eng, err := policy.New(policy.Options{ControlDir: dir})
			if err != nil {
				t.Fatal(err)
			}

			// The daemon's default: no plaintext for a message just queued.
			o := Options{TLS: TLSOptions{Policy: eng, PlaintextAfter: 5 * time.Minute}}
			rep := runProbe(t, w.transport(o), "Example.Test.")
			if rep.Domain != "example.test" || rep.Port != w.port || rep.STS != nil || len(rep.Hosts) != 1 {
				t.Fatalf("report %+v", rep)
			}
			h := rep.Hosts[0]
			if h.Host != "mx.example.test" || h.Pref != 10 || h.Addr != srv.Addr().String() || !h.Connected {
				t.Errorf("host %q pref %d addr %q connected %v", h.Host, h.Pref, h.Addr, h.Connected)
			}
			if h.Level != c.level || h.Source != c.source || h.PolicyError != "" {
				t.Errorf("policy %q from %q (%q), want %q from %q", h.Level, h.Source, h.PolicyError, c.level, c.source)
			}
			if h.StartTLSOffered != c.offered || h.TLS != c.onTLS {
				t.Errorf("STARTTLS offered %v, TLS %v; want %v, %v", h.StartTLSOffered, h.TLS, c.offered, c.onTLS)
			}
			if !strings.HasPrefix(h.Verdict, c.verdict) || h.Class != c.class {
				t.Errorf("verdict %q class %q, want %q %q", h.Verdict, h.Class, c.verdict, c.class)
			}
			if !strings.HasPrefix(h.Action, c.action) {
				t.Errorf("action %q\nwant   %q", h.Action, c.action)
			}
			if c.tls11 && !slices.ContainsFunc(h.Notes, func(n string) bool { return strings.Contains(n, "waited 5m0s (tls.plaintext_after)") }) {
				t.Errorf("handshake failure under may without the plaintext note: %q", h.Notes)
			}
			if rep.Deliverable() != (c.action == ActionDeliver) {
				t.Errorf("Deliverable %v with action %q", rep.Deliverable(), h.Action)
			}
			if c.onTLS {
				probeCheckChain(t, h, leaf)
			} else if h.Version != "" || len(h.Chain) > 0 {
				t.Errorf("TLS details without TLS: %q %v", h.Version, h.Chain)
			}
			probeNoMail(t, srv)

			// Delivery, on a transport of its own, stores exactly the
			// text the probe announced.
			res := deliver(w.transport(o), job(1, "a@sender.test", "b@example.test"))
			if h.Action == ActionDeliver {
				want(t, res, 0, store.Delivered, "127.0.0.2 accepted message.")
			} else if res[0].State != store.Deferred || ActionDefer+strings.TrimSuffix(res[0].Text, "\n") != h.Action {
				t.Errorf("delivery: %v %q, the probe said %q", res[0].State, res[0].Text, h.Action)
			}
		})
	}
}

// TestProbeServers: every address of every MX in delivery's order, each
// with its own outcome; a server that cannot be reached defers with
// qmail-remote's text; a pem that does not load defers before connecting.
func TestProbeServers(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("example.test. 60 IN MX 10 mx1.example.test.", "example.test. 60 IN MX 20 mx2.example.test.",
		"example.test. 60 IN MX 30 mx3.example.test.",
		"mx1.example.test. 60 IN A 127.0.0.2", // nothing listens there
		"mx2.example.test. 60 IN A 127.0.0.3", "mx3.example.test. 60 IN A 127.0.0.4")
	ca := certtest.NewCA(t, "CA")
	srv3 := w.server("127.0.0.3", smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{
		ca.Issue(t, certtest.Options{CommonName: "mx2.example.test", DNSNames: []string{"mx2.example.test"}}).TLS()}}})
	srv4 := w.server("127.0.0.4", smtptest.Config{})
	dir := t.TempDir()
	probeWriteFile(t, filepath.Join(dir, "tlshosts", "mx3.example.test.pem"), "not a certificate\n")
	eng, err := policy.New(policy.Options{ControlDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rep := runProbe(t, w.transport(Options{TLS: TLSOptions{Policy: eng}}), "example.test")
	if len(rep.Hosts) != 3 || rep.Deliverable() {
		t.Fatalf("report %+v", rep)
	}
	h1, h2, h3 := rep.Hosts[0], rep.Hosts[1], rep.Hosts[2]
	if h1.Host != "mx1.example.test" || h1.Connected || h1.Error == "" ||
		h1.Action != "defer: Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)" {
		t.Errorf("unreachable MX: %+v", h1)
	}
	if h2.Host != "mx2.example.test" || !h2.TLS || h2.Action != ActionDeliver || h2.Class != policy.Unverified {
		t.Errorf("second MX: %+v", h2)
	}
	if h3.Host != "mx3.example.test" || h3.Class != "" || !strings.HasPrefix(h3.PolicyError, "TLS unable to load control/tlshosts/mx3.example.test.pem: ") ||
		h3.Action != ActionDefer+h3.PolicyError || !h3.Connected {
		t.Errorf("broken pem: %+v", h3)
	}
	probeNoMail(t, srv3)
	probeNoMail(t, srv4)
}

// TestProbeMTASTS: the MTA-STS policy, fetched over HTTPS from loopback,
// is reported; under enforce an MX host it does not list is deferred
// before connecting, under testing it is delivered with a note.
func TestProbeMTASTS(t *testing.T) {
	ca := certtest.NewCA(t, "STS CA")
	for _, mode := range []string{"enforce", "testing"} {
		t.Run(mode, func(t *testing.T) {
			w := newWorld(t)
			w.dns.Add("example.test. 60 IN MX 10 mx1.example.test.", "example.test. 60 IN MX 20 mx2.example.test.",
				"mx1.example.test. 60 IN A 127.0.0.2", "mx2.example.test. 60 IN A 127.0.0.3",
				`_mta-sts.example.test. 60 IN TXT "v=STSv1; id=20240101;"`)
			for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
				name := "mx1.example.test"
				if ip == "127.0.0.3" {
					name = "mx2.example.test"
				}
				w.server(ip, smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{
					ca.Issue(t, certtest.Options{CommonName: name, DNSNames: []string{name}}).TLS()}}})
			}
			web := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				io.WriteString(rw, "version: STSv1\nmode: "+mode+"\nmx: mx1.example.test\nmax_age: 86400\n")
			}))
			web.TLS = &tls.Config{Certificates: []tls.Certificate{
				ca.Issue(t, certtest.Options{CommonName: "mta-sts.example.test", DNSNames: []string{"mta-sts.example.test"}}).TLS()}}
			web.StartTLS()
			t.Cleanup(web.Close)
			r, err := mx.New(mx.Options{Resolvers: []string{w.dns.Addr}, Timeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			sts, err := mtasts.New(mtasts.Options{TXT: r.TXT, RootCAs: []*x509.Certificate{ca.Cert.Cert},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, network, web.Listener.Addr().String())
				}})
			if err != nil {
				t.Fatal(err)
			}
			eng, err := policy.New(policy.Options{RootCAs: ca.Pool()})
			if err != nil {
				t.Fatal(err)
			}

			rep := runProbe(t, w.transport(Options{TLS: TLSOptions{Policy: eng, STS: sts}}), "example.test")
			if rep.STS == nil || rep.STS.Mode != mode || rep.STS.Source != "fetched" || !rep.STS.Applied ||
				!slices.Equal(rep.STS.MX, []string{"mx1.example.test"}) || len(rep.Hosts) != 2 {
				t.Fatalf("report %+v, MTA-STS %+v", rep, rep.STS)
			}
			h1, h2 := rep.Hosts[0], rep.Hosts[1]
			if h1.Level != "verify" || h1.Source != "mta-sts" || h1.STSMode != mode || h1.Verdict != VerdictOK ||
				h1.Class != policy.Verified || h1.Action != ActionDeliver {
				t.Errorf("listed MX: %+v", h1)
			}
			const notListed = "TLS unable to verify server mx2.example.test: MTA-STS: the policy of example.test does not list this MX host"
			switch mode {
			case "enforce":
				if h2.PolicyError != notListed+"." || h2.Action != ActionDefer+notListed+"." || h2.Class != "" || !h2.Connected {
					t.Errorf("unlisted MX under enforce: %+v", h2)
				}
			case "testing":
				if h2.PolicyError != "" || h2.Action != ActionDeliver || h2.STSMode != "testing" ||
					!slices.Contains(h2.Notes, "MTA-STS testing: the policy would have deferred: "+notListed) {
					t.Errorf("unlisted MX under testing: %+v", h2)
				}
			}
			if rep.Deliverable() != (mode == "testing") {
				t.Errorf("Deliverable %v under %s", rep.Deliverable(), mode)
			}
		})
	}
}

// TestProbeDANE: TLSA records of a DNSSEC-signed zone decide, are listed,
// and a certificate they do not match defers with the DANE text.
func TestProbeDANE(t *testing.T) {
	ca := certtest.NewCA(t, "DANE CA")
	leaf := ca.Issue(t, certtest.Options{CommonName: "mx.example.test", DNSNames: []string{"mx.example.test"}})
	other := ca.Issue(t, certtest.Options{CommonName: "mx.example.test", DNSNames: []string{"mx.example.test"}})
	for _, tc := range []struct {
		name   string
		served *certtest.Cert
		action string
	}{
		{"match", leaf, ActionDeliver},
		{"mismatch", other, "defer: TLS unable to verify server mx.example.test: DANE: no TLSA record matched the server certificate chain; connected to 127.0.0.2."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			spki := sha256.Sum256(leaf.Cert.RawSubjectPublicKeyInfo)
			w.dns.Add("example.test. 60 IN MX 10 mx.example.test.", "mx.example.test. 60 IN A 127.0.0.2",
				fmt.Sprintf("_%d._tcp.mx.example.test. 60 IN TLSA 3 1 1 %x", w.port, spki))
			w.dns.Secure("example.test.")
			srv := w.server("127.0.0.2", smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{tc.served.TLS()}}})
			eng, err := policy.New(policy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rep := runProbe(t, w.transport(Options{TLS: TLSOptions{Policy: eng, DANE: true}}), "example.test")
			h := rep.Hosts[0]
			if h.Level != "dane" || h.Source != "dane" || !slices.Equal(h.TLSA, []string{fmt.Sprintf("3 1 1 %x", spki)}) || h.Action != tc.action {
				t.Errorf("%+v", h)
			}
			if tc.action == ActionDeliver && (h.Verdict != VerdictOK || h.Class != policy.Verified) {
				t.Errorf("verdict %q class %q", h.Verdict, h.Class)
			}
			probeNoMail(t, srv)
		})
	}
}

// TestProbeDNSFailure: a domain that cannot be planned is an error with
// qmail-remote's text.
func TestProbeDNSFailure(t *testing.T) {
	w := newWorld(t)
	_, err := w.transport(Options{}).Probe(context.Background(), "nowhere.test")
	if err == nil || !strings.Contains(err.Error(), "Sorry, I couldn't find any host named nowhere.test. (#5.1.2)") {
		t.Fatalf("err %v", err)
	}
}

func runProbe(t *testing.T, tr *Transport, domain string) ProbeReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := tr.Probe(ctx, domain)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// probeCheckChain compares the reported chain with the server's certificate.
func probeCheckChain(t *testing.T, h ProbeHost, leaf *certtest.Cert) {
	t.Helper()
	if !strings.HasPrefix(h.Version, "TLSv1.") || h.Cipher == "" || len(h.Chain) != 1 {
		t.Fatalf("TLS %q %q chain %d", h.Version, h.Cipher, len(h.Chain))
	}
	sum := sha256.Sum256(leaf.Cert.Raw)
	spki := sha256.Sum256(leaf.Cert.RawSubjectPublicKeyInfo)
	c := h.Chain[0]
	if c.SHA256 != "sha256:"+hex.EncodeToString(sum[:]) || c.SPKISHA256 != "spki-sha256:"+hex.EncodeToString(spki[:]) ||
		!strings.Contains(c.Subject, "CN=mx.example.test") || !strings.Contains(c.Issuer, "CN=Right CA") ||
		!slices.Equal(c.DNSNames, []string{"mx.example.test"}) || !c.NotAfter.Equal(leaf.Cert.NotAfter) {
		t.Errorf("certificate %+v", c)
	}
}

// probeNoMail fails the test if the server saw anything but greeting
// commands: the probe never sends a message.
func probeNoMail(t *testing.T, srv *smtptest.Server) {
	t.Helper()
	for _, cmd := range srv.Commands() {
		verb, _, _ := strings.Cut(strings.ToUpper(cmd), " ")
		if verb != "EHLO" && verb != "STARTTLS" && verb != "QUIT" {
			t.Errorf("the server got %q", cmd)
		}
	}
}

func probeWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestProbeUnusableTLSA: TLSA records unusable for SMTP are listed with
// why, as posttls-finger lists them; under may they require TLS without
// checks, under dane-only the MX is deferred before connecting.
func TestProbeUnusableTLSA(t *testing.T) {
	ca := certtest.NewCA(t, "DANE CA")
	leaf := ca.Issue(t, certtest.Options{CommonName: "mx.example.test", DNSNames: []string{"mx.example.test"}})
	spki := sha256.Sum256(leaf.Cert.RawSubjectPublicKeyInfo)
	unusable := []string{
		fmt.Sprintf("1 1 1 %x: unsupported TLSA certificate usage 1", spki),
		fmt.Sprintf("0 1 1 %x: unsupported TLSA certificate usage 0", spki),
		fmt.Sprintf("3 1 2 %x: malformed SHA2-512 digest, length 32", spki),
	}
	for _, tc := range []struct {
		level  policy.Level
		want   string // level in force
		action string
	}{
		{policy.May, "encrypt", ActionDeliver},
		{policy.DaneOnly, "dane-only", "defer: No TLS achieved while dane-only requires usable TLSA records for mx.example.test."},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			w := newWorld(t)
			w.dns.Add("example.test. 60 IN MX 10 mx.example.test.", "mx.example.test. 60 IN A 127.0.0.2")
			for _, u := range unusable {
				rec, _, _ := strings.Cut(u, ":")
				w.dns.Add(fmt.Sprintf("_%d._tcp.mx.example.test. 60 IN TLSA %s", w.port, rec))
			}
			w.dns.Secure("example.test.")
			srv := w.server("127.0.0.2", smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}}})
			eng, err := policy.New(policy.Options{Default: tc.level})
			if err != nil {
				t.Fatal(err)
			}
			rep := runProbe(t, w.transport(Options{TLS: TLSOptions{Policy: eng, DANE: true}}), "example.test")
			h := rep.Hosts[0]
			slices.Sort(h.TLSAUnusable)
			want := slices.Sorted(slices.Values(unusable))
			if h.Level != tc.want || h.Source != "dane" || len(h.TLSA) != 0 || !slices.Equal(h.TLSAUnusable, want) || h.Action != tc.action {
				t.Errorf("%+v\nwant unusable %q", h, want)
			}
			probeNoMail(t, srv)
		})
	}
}
