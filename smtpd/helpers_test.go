package smtpd

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/certfile/certtest"
	"github.com/qsend/qsend/tls/certrelay"
)

const testMe = "mx.example.org"

// testNow is the fixed clock of the tests: Received lines are exact.
var testNow = time.Date(2024, 3, 5, 6, 7, 8, 0, time.UTC)

// storeQueue is the Queue of the tests: a real store in t.TempDir().
type storeQueue struct {
	st  *store.Store
	mu  sync.Mutex
	ids []store.ID
}

func newStoreQueue(t testing.TB) *storeQueue {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "queue.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &storeQueue{st: st}
}

func (q *storeQueue) Enqueue(ctx context.Context, env envelope.Envelope, _ Origin, body io.Reader) error {
	m, err := q.st.EnqueueMessage(ctx, store.NewMessage{
		Sender:     env.Sender,
		Recipients: env.Recipients,
		Intake:     store.Intake{Protocol: "smtp", UID: -1},
	}, body)
	if err != nil {
		return err
	}
	q.mu.Lock()
	q.ids = append(q.ids, m.ID)
	q.mu.Unlock()
	return nil
}

// queued is a message as the store holds it.
type queued struct {
	sender string
	rcpts  []string
	body   string
}

func (q *storeQueue) messages(t testing.TB) []queued {
	t.Helper()
	q.mu.Lock()
	ids := append([]store.ID(nil), q.ids...)
	q.mu.Unlock()
	var out []queued
	for _, id := range ids {
		m, err := q.st.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		r, err := q.st.Body(id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		qm := queued{sender: m.Sender, body: string(b)}
		for _, rc := range m.Recipients {
			qm.rcpts = append(qm.rcpts, rc.Addr)
		}
		out = append(out, qm)
	}
	return out
}

// failQueue answers every message with err, after reading the body.
type failQueue struct{ err error }

func (q failQueue) Enqueue(_ context.Context, _ envelope.Envelope, _ Origin, body io.Reader) error {
	io.Copy(io.Discard, body)
	return q.err
}

// reMatcher is a qregex-like list: extended regexes, case-insensitive.
type reMatcher []*regexp.Regexp

func matcher(res ...string) reMatcher {
	var m reMatcher
	for _, r := range res {
		m = append(m, regexp.MustCompile("(?i)"+r))
	}
	return m
}

func (m reMatcher) Match(s string) bool {
	for _, re := range m {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// domainSet is rcpthosts as a set.
type domainSet map[string]bool

func (d domainSet) Contains(domain string) bool { return d[domain] }

// passwords is a PasswordChecker: user → password; "temp" fails
// temporarily.
type passwords map[string]string

func (p passwords) Check(_ context.Context, user, pass string) error {
	if user == "temp" {
		return errors.New("password database unavailable")
	}
	if want, ok := p[user]; ok && want == pass {
		return nil
	}
	return ErrAuthRejected
}

// testServer runs a Server on 127.0.0.1 through Serve. rules, when set,
// adjusts each connection's Conn (by default the client appears as
// 192.0.2.10, which may not relay).
type testServer struct {
	addr  string
	q     *storeQueue
	srv   *Server
	pki   *testPKI
	opts  Options
	clean func()
}

type serverConfig struct {
	opts  func(o *Options)
	rules func(c *Conn)
	mode  Mode
	queue Queue
	// loopback makes the client 127.0.0.1 instead of 192.0.2.10 (AUTH in
	// clear is for loopback only), with rcpthosts set so that loopback
	// does not relay by default.
	loopback bool
	// remote, when set, gives the client's address from the one it
	// connected from, instead of one address for all.
	remote func(from netip.Addr) netip.Addr
}

func startServer(t testing.TB, cfg serverConfig) *testServer {
	t.Helper()
	ts := &testServer{q: newStoreQueue(t), pki: sharedPKI(t)}
	o := Options{
		Me:            testMe,
		Locals:        []string{"example.org"},
		Queue:         ts.q,
		Timeout:       5 * time.Second,
		AuthFailDelay: -1,
		Now:           func() time.Time { return testNow },
		PID:           4242,
	}
	if cfg.queue != nil {
		o.Queue = cfg.queue
	}
	if cfg.opts != nil {
		cfg.opts(&o)
	}
	client := netip.MustParseAddr("192.0.2.10")
	if cfg.loopback {
		client = netip.MustParseAddr("127.0.0.1")
		if o.Rcpthosts == nil {
			o.Rcpthosts = domainSet{"example.org": true}
		}
	}
	o.Rules = func(_ context.Context, c *Conn) error {
		from := c.RemoteIP
		c.RemoteIP = client
		if cfg.remote != nil {
			c.RemoteIP = cfg.remote(from)
		}
		if cfg.rules != nil {
			cfg.rules(c)
		}
		return nil
	}
	srv, err := NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	ts.srv, ts.opts = srv, o
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l, cfg.mode) }()
	ts.clean = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(ts.clean)
	return ts
}

// client is the test's side of a session.
type client struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
	// ehlo is set once the client sent EHLO, until HELO or STARTTLS:
	// then replies carry enhanced status codes (RFC 2034 §4).
	ehlo bool
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return newClient(t, c)
}

func newClient(t testing.TB, c net.Conn) *client {
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
	for _, l := range strings.Split(s, "\n") {
		switch verb, _ := parseCommand(strings.TrimSuffix(l, "\r")); verb {
		case "ehlo":
			c.ehlo = true
		case "helo":
			c.ehlo = false
		}
	}
}

// coded is want as the server writes it to this client: with the
// enhanced status code after the reply code once EHLO offered
// ENHANCEDSTATUSCODES (RFC 2034 §4).
func (c *client) coded(want, code string) string {
	if !c.ehlo {
		return want
	}
	return want[:4] + code + " " + want[4:]
}

// line reads one reply line without its CRLF.
func (c *client) line() string {
	c.t.Helper()
	l, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read reply: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("reply %q does not end in CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// expect reads len(want) reply lines and compares them.
func (c *client) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		if got := c.line(); got != w {
			c.t.Fatalf("reply %q, want %q", got, w)
		}
	}
}

// expectClosed checks that the server closed the connection.
func (c *client) expectClosed() {
	c.t.Helper()
	b, err := c.br.ReadByte()
	if err == nil {
		rest, _ := c.br.ReadString('\n')
		c.t.Fatalf("connection open, read %q", string(b)+rest)
	}
}

// startTLS sends STARTTLS and runs the client handshake.
func (c *client) startTLS(cfg *tls.Config) *tls.ConnectionState {
	c.t.Helper()
	ready := c.coded("220 ready for tls", "2.0.0")
	c.send("STARTTLS\r\n")
	c.expect(ready)
	if c.br.Buffered() > 0 {
		c.t.Fatalf("server sent more after 220 ready for tls")
	}
	tc := tls.Client(c.c, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.c, c.br = tc, bufio.NewReader(tc)
	c.ehlo = false // RFC 3207 §4.2: EHLO again
	cs := tc.ConnectionState()
	return &cs
}

// testPKI is a CA with a server certificate and client certificates.
type testPKI struct {
	ca, otherCA      *certtest.CA
	pool             *x509.CertPool
	server           tls.Certificate
	alice, bob       tls.Certificate // listed / not listed
	revoked, noEmail tls.Certificate
	stranger         tls.Certificate // from another CA
	crl              []byte          // PEM, revoking revoked
}

var (
	pkiOnce sync.Once
	pkiVal  *testPKI
)

// sharedPKI makes the test PKI once for all tests (key generation is the
// slow part); the first caller's t reports a failure.
func sharedPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pkiVal = newPKI(t) })
	if pkiVal == nil {
		t.Fatal("test PKI failed")
	}
	return pkiVal
}

func newPKI(t testing.TB) *testPKI {
	p := &testPKI{ca: certtest.NewCA(t, "Test CA"), otherCA: certtest.NewCA(t, "Other CA")}
	p.pool = p.ca.Pool()
	client := func(ca *certtest.CA, cn, email string) *certtest.Cert {
		return ca.Issue(t, certtest.Options{CommonName: cn, Email: email})
	}
	p.server = p.ca.Issue(t, certtest.Options{CommonName: testMe, DNSNames: []string{testMe}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}).TLS()
	p.alice = client(p.ca, "alice", "alice@example.com").TLS()
	p.bob = client(p.ca, "bob", "bob@example.com").TLS()
	revoked := client(p.ca, "carol", "carol@example.com")
	p.revoked = revoked.TLS()
	p.noEmail = client(p.ca, "dave", "").TLS()
	p.stranger = client(p.otherCA, "erin", "alice@example.com").TLS()
	p.crl = p.ca.CRL(t, revoked)
	return p
}

// relay is the real client-certificate relay check (tls/certrelay) over
// a control directory holding the test CA, its CRL and tlsclients.
func (p *testPKI) relay(t testing.TB, clients ...string) CertRelay {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"clientca.pem":  p.ca.PEM(),
		"clientcrl.pem": p.crl,
		"tlsclients":    []byte(strings.Join(clients, "\n") + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := certrelay.New(certrelay.Options{ControlDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// serverTLS is Options.TLS for the tests.
func (p *testPKI) serverTLS() func() *tls.Config {
	cfg := &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
	return func() *tls.Config { return cfg }
}

// clientTLS trusts the test CA and presents cert, if given, whatever
// CAs the server names as acceptable.
func (p *testPKI) clientTLS(cert ...tls.Certificate) *tls.Config {
	cfg := &tls.Config{RootCAs: p.pool, ServerName: testMe}
	if len(cert) > 0 {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert[0], nil }
	}
	return cfg
}
