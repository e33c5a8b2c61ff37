package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/tls/certfile/certtest"
)

// tlsProbeLine is the part of a `tls-probe --json` line the tests read.
type tlsProbeLine struct {
	Domain          string `json:"domain"`
	Host            string `json:"host"`
	Addr            string `json:"addr"`
	Level           string `json:"level"`
	Source          string `json:"source"`
	StartTLSOffered bool   `json:"starttls_offered"`
	TLS             bool   `json:"tls"`
	Version         string `json:"tls_version"`
	Chain           []struct {
		Subject string `json:"subject"`
		SHA256  string `json:"sha256"`
	} `json:"chain"`
	Verdict string `json:"verdict"`
	Class   string `json:"class"`
	Action  string `json:"action"`
}

// TestTLSProbe runs `qsend tls-probe` against MX hosts on loopback under
// each kind of policy: the report, the exit status, and that no server
// ever sees MAIL.
func TestTLSProbe(t *testing.T) {
	ca := certtest.NewCA(t, "Probe CA")
	other := certtest.NewCA(t, "Other CA")
	good := ca.Issue(t, certtest.Options{CommonName: "mx1.example.net", DNSNames: []string{"mx1.example.net"}})
	wrongName := ca.Issue(t, certtest.Options{CommonName: "other.example", DNSNames: []string{"other.example"}})
	withTLS := func(c *certtest.Cert) smtptest.Config {
		return smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{c.TLS()}}}
	}

	w := newRemoteWorld(t)
	w.dns.Add("example.net. 60 IN MX 10 mx1.example.net.", "mx1.example.net. 60 IN A 127.0.0.2",
		"example.org. 60 IN MX 10 mx1.example.org.", "example.org. 60 IN MX 20 mx2.example.org.",
		"mx1.example.org. 60 IN A 127.0.0.3", "mx2.example.org. 60 IN A 127.0.0.4",
		"example.com. 60 IN MX 10 mx.example.com.", "mx.example.com. 60 IN A 127.0.0.5")
	s1 := w.server(t, "127.0.0.2", withTLS(good))
	s2 := w.server(t, "127.0.0.3", smtptest.Config{}) // no STARTTLS
	s3 := w.server(t, "127.0.0.4", withTLS(good))
	s4 := w.server(t, "127.0.0.5", withTLS(wrongName))
	caFile := ca.WritePEM(t, filepath.Join(t.TempDir(), "ca.pem"))

	s := newSite(t)
	s.writeConfig(w.config("tls:\n  policy:\n    - {destination: example.com, level: verify, ca_file: " + caFile + "}\n"))
	for _, d := range []string{"tlshosts", "notlshosts"} {
		if err := os.Mkdir(filepath.Join(s.control, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.writeControl("tlshosts/mx1.example.org.pem", string(ca.PEM()))

	// A pem with the right CA: verified, delivered.
	s.writeControl("tlshosts/mx1.example.net.pem", string(ca.PEM()))
	out, errOut, code := s.run("", "qsend", "tls-probe", "example.net")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"example.net, port ",
		"mx1.example.net 127.0.0.2:",
		"  policy:   verify, from tlshosts/mx1.example.net.pem\n",
		"  STARTTLS: offered\n",
		"  TLS:      TLSv1.3 TLS_AES_",
		"  cert 0:   subject CN=mx1.example.net,O=qsend tests\n            issuer  CN=Probe CA,O=qsend tests\n",
		"            names   mx1.example.net\n",
		"            sha256:",
		"            spki-sha256:",
		"  verdict:  ok\n  session:  verified\n",
		"  action:   deliver\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}

	// The wrong CA: deferred with qmail-tls's text, the chain still shown.
	s.writeControl("tlshosts/mx1.example.net.pem", string(other.PEM()))
	lines := probeJSON(t, s, 1, "tls-probe", "--json", "example.net")
	if len(lines) != 1 || lines[0].Domain != "example.net" || lines[0].Host != "mx1.example.net" || !lines[0].TLS || len(lines[0].Chain) != 1 ||
		lines[0].Class != "failed" ||
		lines[0].Action != "defer: TLS unable to verify server with control/tlshosts/mx1.example.net.pem: unable to get local issuer certificate; connected to 127.0.0.2." {
		t.Errorf("wrong CA: %+v", lines)
	}

	// A pem for a host without STARTTLS defers; the next MX delivers.
	lines = probeJSON(t, s, 1, "tls-probe", "--json", "example.org")
	if len(lines) != 2 || lines[0].StartTLSOffered || lines[0].TLS ||
		lines[0].Action != "defer: No TLS achieved while control/tlshosts/mx1.example.org.pem exists; connecting to 127.0.0.3." ||
		lines[1].Host != "mx2.example.org" || lines[1].Level != "may" || lines[1].Source != "default" || lines[1].Action != "deliver" {
		t.Errorf("no STARTTLS: %+v", lines)
	}

	// notlshosts: plaintext although STARTTLS is offered; default may on the other.
	s.writeControl("notlshosts/mx1.example.org", "")
	os.Remove(filepath.Join(s.control, "tlshosts", "mx1.example.org.pem"))
	lines = probeJSON(t, s, 0, "tls-probe", "--json", "example.org")
	if len(lines) != 2 || lines[0].Level != "none" || lines[0].Source != "notlshosts/mx1.example.org" || lines[0].TLS ||
		lines[0].Class != "plain" || lines[0].Action != "deliver" ||
		!lines[1].TLS || lines[1].Class != "unverified" || lines[1].Verdict != "not checked (may)" || lines[1].Action != "deliver" {
		t.Errorf("notlshosts and may: %+v", lines)
	}

	// The tls.policy table: verify with a name mismatch.
	lines = probeJSON(t, s, 1, "tls-probe", "--json", "example.com")
	if len(lines) != 1 || lines[0].Level != "verify" || lines[0].Source != "table:example.com" ||
		lines[0].Verdict != "TLS unable to verify server mx.example.com: received certificate for other.example" ||
		lines[0].Action != "defer: TLS unable to verify server mx.example.com: received certificate for other.example; connected to 127.0.0.5." {
		t.Errorf("table: %+v", lines)
	}

	// A domain that does not exist would bounce.
	out, _, code = s.run("", "qsend", "tls-probe", "nowhere.example")
	if code != 1 || !strings.Contains(out, "action:   bounce: Sorry, I couldn't find any host named nowhere.example. (#5.1.2)") {
		t.Errorf("exit %d: %s", code, out)
	}

	for _, srv := range []*smtptest.Server{s1, s2, s3, s4} {
		if srv.Connections() == 0 {
			t.Errorf("server %v was not probed", srv.Addr())
		}
		for _, cmd := range srv.Commands() {
			if verb, _, _ := strings.Cut(cmd, " "); verb != "EHLO" && verb != "STARTTLS" && verb != "QUIT" {
				t.Errorf("server %v got %q", srv.Addr(), cmd)
			}
		}
	}
}

// TestTLSProbeUsage: usage and configuration errors exit 2.
func TestTLSProbeUsage(t *testing.T) {
	s := newSite(t)
	for _, args := range [][]string{
		{"tls-probe"},
		{"tls-probe", "a.example", "b.example"},
		{"tls-probe", "--port", "70000", "a.example"},
		{"tls-probe", "--bogus", "a.example"},
		{"tls-probe", "--set", "tls.default_level=sometimes", "a.example"},
	} {
		if _, errOut, code := s.run("", "qsend", args...); code != 2 || errOut == "" {
			t.Errorf("qsend %s: exit %d, stderr %q; want 2", strings.Join(args, " "), code, errOut)
		}
	}
	s.writeControl("tlsclientciphers", "DHE-RSA-AES128-SHA\n")
	if _, errOut, code := s.run("", "qsend", "tls-probe", "a.example"); code != 2 || !strings.Contains(errOut, "tlsclientciphers") {
		t.Errorf("bad tlsclientciphers: exit %d, stderr %q; want 2", code, errOut)
	}
}

// probeJSON runs qsend, wants exit status code, and parses its JSON lines.
func probeJSON(t *testing.T, s *site, code int, args ...string) []tlsProbeLine {
	t.Helper()
	out, errOut, got := s.run("", "qsend", args...)
	if got != code {
		t.Fatalf("qsend %s: exit %d, want %d: %s\n%s", strings.Join(args, " "), got, code, errOut, out)
	}
	var lines []tlsProbeLine
	for l := range strings.Lines(out) {
		var pl tlsProbeLine
		if err := json.Unmarshal([]byte(l), &pl); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, pl)
	}
	return lines
}

// TestTLSProbeUnusableTLSA: `qsend tls-probe` lists TLSA records that SMTP
// clients must ignore with why, as posttls-finger does, and with
// tls.default_level dane-only says the MX is deferred.
func TestTLSProbeUnusableTLSA(t *testing.T) {
	ca := certtest.NewCA(t, "Probe CA")
	leaf := ca.Issue(t, certtest.Options{CommonName: "mx1.example.net", DNSNames: []string{"mx1.example.net"}})
	w := newRemoteWorld(t)
	w.dns.Add("example.net. 60 IN MX 10 mx1.example.net.", "mx1.example.net. 60 IN A 127.0.0.2",
		fmt.Sprintf("_%d._tcp.mx1.example.net. 60 IN TLSA 1 1 1 %064x", w.port, 7))
	w.dns.Secure("example.net.")
	srv := w.server(t, "127.0.0.2", smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}}})
	s := newSite(t)
	s.writeConfig(w.config("tls:\n  dane: on\n  default_level: dane-only\n"))
	out, errOut, code := s.run("", "qsend", "tls-probe", "example.net")
	if code != 1 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"  policy:   dane-only, from dane\n",
		fmt.Sprintf("  TLSA:     1 1 1 %064x: unsupported TLSA certificate usage 1 (ignored)\n", 7),
		"  action:   defer: No TLS achieved while dane-only requires usable TLSA records for mx1.example.net.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	for _, cmd := range srv.Commands() {
		if verb, _, _ := strings.Cut(cmd, " "); verb != "EHLO" && verb != "STARTTLS" && verb != "QUIT" {
			t.Errorf("server got %q", cmd)
		}
	}
}
