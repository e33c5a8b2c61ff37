package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/mx/dnstest"
	"github.com/qsend/qsend/tls/certfile/certtest"
)

// response is what the policy server answers for one host.
type response struct {
	status   int    // 0: 200
	ctype    string // "": text/plain
	location string
	body     string
}

// policyServer is an HTTPS server on 127.0.0.3 that serves policies by Host
// header and counts requests per host.
type policyServer struct {
	addr string
	mu   sync.Mutex
	resp map[string]response
	hits map[string]int
}

func startPolicyServer(t testing.TB, cert tls.Certificate) *policyServer {
	t.Helper()
	ps := &policyServer{resp: map[string]response{}, hits: map[string]int{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(ps.serve))
	ln, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ps.addr = ln.Addr().String()
	return ps
}

func (ps *policyServer) serve(w http.ResponseWriter, r *http.Request) {
	ps.mu.Lock()
	host := strings.ToLower(r.Host)
	ps.hits[host]++
	resp, ok := ps.resp[host]
	ps.mu.Unlock()
	if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
		http.NotFound(w, r)
		return
	}
	ct := resp.ctype
	if ct == "" {
		ct = "text/plain"
	}
	w.Header().Set("Content-Type", ct)
	if resp.location != "" {
		w.Header().Set("Location", resp.location)
	}
	if resp.status != 0 {
		w.WriteHeader(resp.status)
	}
	w.Write([]byte(resp.body))
}

// set makes the server answer r for https://mta-sts.<domain>/.
func (ps *policyServer) set(domain string, r response) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.resp["mta-sts."+domain] = r
}

func (ps *policyServer) fetches(domain string) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.hits["mta-sts."+domain]
}

// dial sends every connection to the policy server, whatever the name.
func (ps *policyServer) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, ps.addr)
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

// world is a DNS server, a policy server with a certificate from a test CA,
// and a Resolver using both.
type world struct {
	dns    *dnstest.Server
	policy *policyServer
	clock  *clock
	cache  *MemoryCache
	r      *Resolver
}

// newWorld serves policies for mta-sts.<d> of each of domains; the TXT
// records have TTL 0 so that tests can change them.
func newWorld(t testing.TB, domains []string, mod func(*Options)) *world {
	t.Helper()
	ca := certtest.NewCA(t, "qsend test CA")
	var names []string
	for _, d := range domains {
		names = append(names, "mta-sts."+d)
	}
	w := &world{
		dns:    dnstest.Start(t),
		policy: startPolicyServer(t, ca.Issue(t, certtest.Options{CommonName: names[0], DNSNames: names}).TLS()),
		clock:  &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		cache:  &MemoryCache{},
	}
	dnsr, err := mx.New(mx.Options{
		Resolvers:  []string{w.dns.Addr},
		LocalAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		Timeout:    time.Second,
		Now:        w.clock.now, // negative answers expire as the test's time goes on
	})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		TXT:          dnsr.TXT,
		Cache:        w.cache,
		RootCAs:      []*x509.Certificate{ca.Cert.Cert},
		DialContext:  w.policy.dial,
		FetchTimeout: 5 * time.Second,
		Now:          w.clock.now,
	}
	if mod != nil {
		mod(&o)
	}
	w.r, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// setTXT replaces the _mta-sts record of domain; "" removes it.
func (w *world) setTXT(domain, record string) {
	w.dns.Remove("_mta-sts." + domain + ".")
	if record != "" {
		w.dns.Add("_mta-sts." + domain + `. 0 IN TXT "` + record + `"`)
	}
}

const (
	enforcePolicy = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmx: *.mx.example.net\r\nmax_age: 86400\r\n"
	testingPolicy = "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 3600\n"
	nonePolicy    = "version: STSv1\nmode: none\nmax_age: 86400\n"
)
