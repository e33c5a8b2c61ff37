package remote

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/policy"
)

// signedDNS is a zone signed with ldns-signzone, served by NSD, behind a
// validating Unbound that trusts the zone's key: answers come with an AD
// bit that a real validator set. Both run in the foreground in a
// temporary directory and are stopped when the test ends.
type signedDNS struct {
	addr string // Unbound's address
}

// startSignedDNS signs the zone whose records are rrs and starts NSD and
// Unbound on loopback.
func startSignedDNS(t *testing.T, zone string, rrs []string) *signedDNS {
	t.Helper()
	for _, p := range []string{"nsd", "unbound", "ldns-keygen", "ldns-signzone"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed (scripts/test installs nsd, unbound and ldnsutils): %v", p, err)
		}
	}
	dir := t.TempDir()
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	text := fmt.Sprintf("$ORIGIN %s\n$TTL 60\n@ IN SOA ns.%s hostmaster.%s 1 3600 600 86400 60\n@ IN NS ns.%s\nns IN A 127.0.0.1\n%s\n",
		zone, zone, zone, zone, strings.Join(rrs, "\n"))
	writeFile(t, filepath.Join(dir, "zone"), text)
	ksk := run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone)
	zsk := run("ldns-keygen", "-a", "ECDSAP256SHA256", zone)
	run("ldns-signzone", "-f", "zone.signed", "zone", ksk, zsk)

	nsdPort, ubPort := testlib.FreePortOn(t, "127.0.0.1"), testlib.FreePortOn(t, "127.0.0.1")
	writeFile(t, filepath.Join(dir, "nsd.conf"), fmt.Sprintf(`server:
  ip-address: 127.0.0.1@%d
  username: ""
  chroot: ""
  zonesdir: "%[2]s"
  database: ""
  zonelistfile: "%[2]s/zone.list"
  xfrdfile: "%[2]s/xfrd.state"
  xfrdir: "%[2]s"
  pidfile: "%[2]s/nsd.pid"
  logfile: "%[2]s/nsd.log"
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: %[3]s
  zonefile: zone.signed
`, nsdPort, dir, zone))
	// test. is one of Unbound's default local zones (RFC 6761): nodefault
	// lets the stub zone answer.
	writeFile(t, filepath.Join(dir, "unbound.conf"), fmt.Sprintf(`server:
  interface: 127.0.0.1
  port: %d
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "%[2]s"
  pidfile: "%[2]s/unbound.pid"
  use-syslog: no
  logfile: "%[2]s/unbound.log"
  do-not-query-localhost: no
  do-ip6: no
  num-threads: 1
  module-config: "validator iterator"
  trust-anchor-file: "%[2]s/%[3]s.key"
  local-zone: "test." nodefault
stub-zone:
  name: "%[4]s"
  stub-addr: 127.0.0.1@%[5]d
remote-control:
  control-enable: no
`, ubPort, dir, ksk, zone, nsdPort))
	start := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	start("nsd", "-d", "-c", filepath.Join(dir, "nsd.conf"))
	start("unbound", "-d", "-c", filepath.Join(dir, "unbound.conf"))

	// Wait until Unbound answers for the zone with the AD bit.
	s := &signedDNS{addr: fmt.Sprintf("127.0.0.1:%d", ubPort)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		m := new(dns.Msg).SetQuestion(zone, dns.TypeSOA)
		m.SetEdns0(1232, true)
		c := &dns.Client{Timeout: 500 * time.Millisecond}
		if r, _, err := c.ExchangeContext(ctx, m, s.addr); err == nil && r.Rcode == dns.RcodeSuccess && r.AuthenticatedData {
			return s
		}
		select {
		case <-ctx.Done():
			logs, _ := os.ReadFile(filepath.Join(dir, "unbound.log"))
			t.Fatalf("the validating resolver did not answer for %s with the AD bit:\n%s", zone, logs)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTLSDNSSECUnusableTLSA is TestTLSUnusableTLSANeverLowers against real
// DNSSEC: a zone signed by ldns-signzone, served by NSD, validated by
// Unbound on loopback. mx1's TLSA records are all unusable (PKIX-EE(1),
// PKIX-TA(0)); mx2's DANE-EE(3) record matches, which shows that the AD
// bit reached the transport. Postfix defers at dane-only ("TLSA records
// unusable") and at secure ("Server certificate not verified"), and so
// must qsend.
func TestTLSDNSSECUnusableTLSA(t *testing.T) {
	w := newTLSWorld(t)
	leaf1, leaf2 := w.issue("mx1.dnssec.test"), w.issue("mx2.dnssec.test")
	spki1 := sha256.Sum256(leaf1.Cert.RawSubjectPublicKeyInfo)
	spki2 := sha256.Sum256(leaf2.Cert.RawSubjectPublicKeyInfo)
	ca := sha256.Sum256(w.ca.Cert.Cert.Raw)
	d := startSignedDNS(t, "dnssec.test.", []string{
		"unusable IN MX 10 mx1.dnssec.test.",
		"usable IN MX 10 mx2.dnssec.test.",
		"mx1 IN A 127.0.0.2",
		"mx2 IN A 127.0.0.3",
		fmt.Sprintf("_%d._tcp.mx1 IN TLSA 1 1 1 %x", w.port, spki1[:]),
		fmt.Sprintf("_%d._tcp.mx1 IN TLSA 0 0 1 %x", w.port, ca[:]),
		fmt.Sprintf("_%d._tcp.mx2 IN TLSA 3 1 1 %x", w.port, spki2[:]),
	})
	s1 := w.server("127.0.0.2", smtptest.Config{TLS: serverTLS(leaf1)})
	s2 := w.server("127.0.0.3", smtptest.Config{TLS: serverTLS(leaf2)})
	const unverified = "TLS unable to verify server mx1.dnssec.test: unable to get local issuer certificate; connected to 127.0.0.2.\n"
	tests := []struct {
		level policy.Level
		want  string // the deferral; "" for delivered
	}{
		{level: policy.May},
		{level: policy.Verify, want: unverified},
		{level: policy.Secure, want: unverified},
		{level: policy.DaneOnly, want: "No TLS achieved while dane-only requires usable TLSA records for mx1.dnssec.test.\n"},
	}
	id := store.ID(0)
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			logs := &testlib.LogBuffer{}
			tr := w.transportOn(w.resolver(func(o *mx.Options) { o.Resolvers = []string{d.addr} }), Options{Logger: logs.Logger(),
				TLS: TLSOptions{Policy: w.engine(policy.Options{Default: tt.level}), DANE: true}})
			id++
			res := deliver(tr, job(id, "a@qsend.test", "b@unusable.dnssec.test"))
			if tt.want == "" {
				want(t, res, 0, store.Delivered, "127.0.0.2 accepted message.")
				if !strings.Contains(logs.String(), "tls_level=encrypt tls_source=dane verify=unverified") {
					t.Errorf("the log does not say encrypt from dane:\n%s", logs.String())
				}
			} else if r := res[0]; r.State != store.Deferred || r.Text != tt.want || !r.TLSPolicy {
				t.Fatalf("result %+v\nwant a TLS policy deferral %q", r, tt.want)
			}
			id++
			res = deliver(tr, job(id, "a@qsend.test", "b@usable.dnssec.test"))
			want(t, res, 0, store.Delivered, "127.0.0.3 accepted message.")
			if !strings.Contains(logs.String(), `tls_level=dane tls_source=dane verify=verified dane="3 1 1"`) {
				t.Errorf("mx2 was not verified by DANE:\n%s", logs.String())
			}
		})
	}
	noPlaintext(t, s1, s2)
	if s1.Count() != 1 {
		t.Errorf("mx1 got %d messages, want 1 (under may)", s1.Count())
	}
}
