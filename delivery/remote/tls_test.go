package remote

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient"
	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/certfile/certtest"
	"github.com/qsend/qsend/tls/policy"
)

// The tests in the tls*_test.go files deliver through real SMTP servers on
// loopback addresses with certificates made in the test, a DNS server on
// loopback and a policy engine reading a control directory in
// t.TempDir(), and check what reached each server: the outbound TLS
// policy end to end (qmail-tls qmail-remote.c ehlo(), tls_init(),
// match_partner(); docs/tls.md).

// tlsWorld is a world with a control directory and a test CA.
type tlsWorld struct {
	*world
	control string
	ca      *certtest.CA
}

func newTLSWorld(t *testing.T) *tlsWorld {
	return &tlsWorld{world: newWorld(t), control: t.TempDir(), ca: certtest.NewCA(t, "qsend test CA")}
}

// writeControl writes a file under the control directory.
func (w *tlsWorld) writeControl(name string, data []byte) string {
	w.t.Helper()
	path := filepath.Join(w.control, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// engine returns a policy engine reading the world's control directory.
func (w *tlsWorld) engine(o policy.Options) *policy.Engine {
	w.t.Helper()
	o.ControlDir = w.control
	e, err := policy.New(o)
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

// resolver returns an mx.Resolver on the world's DNS server, as
// world.transport makes it; mod may change the options.
func (w *world) resolver(mod func(*mx.Options)) *mx.Resolver {
	w.t.Helper()
	o := mx.Options{
		Resolvers:  []string{w.dns.Addr},
		Me:         "qsend.test",
		LocalAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		Timeout:    500 * time.Millisecond,
		Shuffle:    func(int, func(i, j int)) {},
	}
	if mod != nil {
		mod(&o)
	}
	r, err := mx.New(o)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// transportOn returns a Transport using r, the world's port and client
// options.
func (w *world) transportOn(r *mx.Resolver, o Options) *Transport {
	o.Resolver = r
	if o.Port == 0 {
		o.Port = w.port
	}
	o.Client = smtpclient.Options{HeloHost: "qsend.test", ConnectTimeout: 2 * time.Second, Timeout: 5 * time.Second}
	tr := New(o)
	w.t.Cleanup(func() { tr.Close() })
	return tr
}

// issue makes a server certificate from the world's CA for names (the
// first is also the CN).
func (w *tlsWorld) issue(names ...string) *certtest.Cert {
	return w.ca.Issue(w.t, certtest.Options{CommonName: names[0], DNSNames: names})
}

// serverTLS is a server configuration presenting c.
func serverTLS(c *certtest.Cert) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.TLS()}}
}

// brokenTLS is a server configuration no client of ours can agree with:
// TLS 1.0 and 1.1 only, below the client's minimum of TLS 1.2.
func brokenTLS(c *certtest.Cert) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.TLS()}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
}

// counted makes cfg count the handshakes servers start with it (one per
// ClientHello received).
func counted(cfg *tls.Config, n *atomic.Int64) *tls.Config {
	cfg = cfg.Clone()
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		n.Add(1)
		return nil, nil
	}
	return cfg
}

// noPlaintext fails the test if a server received a message, or was even
// asked to take one, outside TLS.
func noPlaintext(t *testing.T, servers ...*smtptest.Server) {
	t.Helper()
	for _, s := range servers {
		for _, m := range s.Messages() {
			if !m.TLS {
				t.Errorf("server %v received a message in plaintext: %+v", s.Addr(), m)
			}
		}
	}
}

// nothingReceived fails the test unless the servers were never given a
// sender: no message, no MAIL command, in TLS or not.
func nothingReceived(t *testing.T, servers ...*smtptest.Server) {
	t.Helper()
	for _, s := range servers {
		if s.Count() != 0 {
			t.Errorf("server %v received %d messages", s.Addr(), s.Count())
		}
		for _, c := range s.Commands() {
			if strings.HasPrefix(strings.ToUpper(c), "MAIL") {
				t.Errorf("server %v was sent %q", s.Addr(), c)
			}
		}
	}
}

// wantTLSDeferral checks that result i is a deferral with exactly text,
// marked as a TLS policy failure or not.
func wantTLSDeferral(t *testing.T, res []store.Result, i int, text string, tlsPolicy bool) {
	t.Helper()
	r := res[i]
	if r.State != store.Deferred || r.Text != text || r.TLSPolicy != tlsPolicy || r.NotAttempted {
		t.Fatalf("result %d: %v %q tlsPolicy=%v notAttempted=%v\nwant deferred %q tlsPolicy=%v", i, r.State, r.Text, r.TLSPolicy, r.NotAttempted, text, tlsPolicy)
	}
}

// rawServer is a listener that answers SMTP up to STARTTLS, then writes
// garbage where the TLS handshake should be: a server whose TLS is broken
// beyond any configuration.
type rawServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	lines []string
}

func startRawServer(t *testing.T, addr string) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			s.serve(c)
		}()
	}
}

func (s *rawServer) serve(c net.Conn) {
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "220 garbage.test ESMTP\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		s.mu.Lock()
		s.lines = append(s.lines, line)
		s.mu.Unlock()
		switch verb, _, _ := strings.Cut(strings.ToUpper(line), " "); verb {
		case "EHLO":
			fmt.Fprintf(c, "250-garbage.test\r\n250 STARTTLS\r\n")
		case "STARTTLS":
			// Garbage after the client's hello: bytes sent with the 220
			// would be dropped as pipelined plaintext (RFC 3207 §6).
			fmt.Fprintf(c, "220 go ahead\r\n")
			if _, err := r.ReadByte(); err == nil {
				fmt.Fprintf(c, "this is not a TLS server hello\r\n\r\n")
			}
			return
		case "QUIT":
			fmt.Fprintf(c, "221 bye\r\n")
			return
		default:
			fmt.Fprintf(c, "250 ok\r\n")
		}
	}
}

// commands returns the lines the server received.
func (s *rawServer) commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// TestTLSHostsPem delivers to mx1.example.test, which has
// control/tlshosts/mx1.example.test.pem (qmail-tls qmail-remote.c tls_init(),
// match_partner()): a server whose certificate verifies against that file
// gets the message over TLS; every other server gets nothing, the recipient
// is deferred with qmail-tls's text and marked a TLS policy failure, and a
// second MX (with its own pem that verifies) then takes the message.
func TestTLSHostsPem(t *testing.T) {
	now := time.Now()
	type setup struct {
		w    *tlsWorld
		host string
	}
	tests := []struct {
		name   string
		host   string                                // the first MX's name (default mx1.example.test)
		pem    func(w *tlsWorld) []byte              // the first MX's pem (default the world's CA)
		server func(s setup) (smtptest.Config, bool) // the first MX's server; false: the garbage server
		want   string                                // the deferral; "" = delivered by the first MX
	}{
		{name: "right CA",
			server: func(s setup) (smtptest.Config, bool) {
				return smtptest.Config{TLS: serverTLS(s.w.issue(s.host))}, true
			}},
		{name: "right CA, intermediate in the chain",
			server: func(s setup) (smtptest.Config, bool) {
				c := s.w.ca.Intermediate(s.w.t, "qsend test intermediate").Issue(s.w.t, certtest.Options{DNSNames: []string{s.host}})
				return smtptest.Config{TLS: serverTLS(c)}, true
			}},
		{name: "wrong CA",
			server: func(s setup) (smtptest.Config, bool) {
				other := certtest.NewCA(s.w.t, "other CA")
				return smtptest.Config{TLS: serverTLS(other.Issue(s.w.t, certtest.Options{CommonName: s.host, DNSNames: []string{s.host}}))}, true
			},
			want: "TLS unable to verify server with control/tlshosts/mx1.example.test.pem: unable to get local issuer certificate; connected to 127.0.0.2.\n"},
		{name: "self-signed server",
			server: func(s setup) (smtptest.Config, bool) {
				return smtptest.Config{TLS: serverTLS(certtest.SelfSigned(s.w.t, certtest.Options{CommonName: s.host, DNSNames: []string{s.host}}))}, true
			},
			want: "TLS unable to verify server with control/tlshosts/mx1.example.test.pem: self signed certificate; connected to 127.0.0.2.\n"},
		{name: "name mismatch",
			server: func(s setup) (smtptest.Config, bool) {
				return smtptest.Config{TLS: serverTLS(s.w.issue("other.example.test"))}, true
			},
			want: "TLS unable to verify server mx1.example.test: received certificate for other.example.test; connected to 127.0.0.2.\n"},
		{name: "wildcard covers one label",
			server: func(s setup) (smtptest.Config, bool) {
				return smtptest.Config{TLS: serverTLS(s.w.issue("*.example.test"))}, true
			}},
		{name: "wildcard in the CN only",
			server: func(s setup) (smtptest.Config, bool) {
				return smtptest.Config{TLS: serverTLS(s.w.ca.Issue(s.w.t, certtest.Options{CommonName: "*.example.test"}))}, true
			}},
		{name: "wildcard does not cover two labels", host: "a.mx1.example.test",
			server: func(s setup) (smtptest.Config, bool) {
				return smtptest.Config{TLS: serverTLS(s.w.issue("*.example.test"))}, true
			},
			want: "TLS unable to verify server a.mx1.example.test: received certificate for *.example.test; connected to 127.0.0.2.\n"},
		{name: "wildcard does not cover the bare name", host: "example.test",
			server: func(s setup) (smtptest.Config, bool) {
				return smtptest.Config{TLS: serverTLS(s.w.issue("*.example.test"))}, true
			},
			want: "TLS unable to verify server example.test: received certificate for *.example.test; connected to 127.0.0.2.\n"},
		{name: "wildcard one level down does not cover the name",
			server: func(s setup) (smtptest.Config, bool) {
				return smtptest.Config{TLS: serverTLS(s.w.issue("*.mx1.example.test"))}, true
			},
			want: "TLS unable to verify server mx1.example.test: received certificate for *.mx1.example.test; connected to 127.0.0.2.\n"},
		{name: "expired",
			server: func(s setup) (smtptest.Config, bool) {
				c := s.w.ca.Issue(s.w.t, certtest.Options{DNSNames: []string{s.host}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})
				return smtptest.Config{TLS: serverTLS(c)}, true
			},
			want: "TLS unable to verify server with control/tlshosts/mx1.example.test.pem: certificate has expired; connected to 127.0.0.2.\n"},
		{name: "STARTTLS not offered",
			server: func(s setup) (smtptest.Config, bool) { return smtptest.Config{}, true },
			want:   "No TLS achieved while control/tlshosts/mx1.example.test.pem exists; connecting to 127.0.0.2.\n"},
		{name: "STARTTLS refused",
			server: func(s setup) (smtptest.Config, bool) {
				return smtptest.Config{TLS: serverTLS(s.w.issue(s.host)), Reply: stage("STARTTLS", 454, "4.7.0 TLS not available")}, true
			},
			want: "STARTTLS rejected while control/tlshosts/mx1.example.test.pem exists; connecting to 127.0.0.2.\nRemote host said: 454 4.7.0 TLS not available\n"},
		{name: "handshake failure: no common version",
			server: func(s setup) (smtptest.Config, bool) {
				return smtptest.Config{TLS: brokenTLS(s.w.issue(s.host))}, true
			},
			want: "TLS connect failed: remote error: tls: protocol version not supported; connected to 127.0.0.2.\n"},
		{name: "handshake failure: garbage instead of TLS",
			server: func(s setup) (smtptest.Config, bool) { return smtptest.Config{}, false },
			want:   "TLS connect failed: first record does not look like a TLS handshake; connected to 127.0.0.2.\n"},
		{name: "pem that does not load",
			pem: func(*tlsWorld) []byte { return []byte("not a certificate\n") },
			server: func(s setup) (smtptest.Config, bool) {
				return smtptest.Config{TLS: serverTLS(s.w.issue(s.host))}, true
			},
			want: "TLS unable to load control/tlshosts/mx1.example.test.pem: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTLSWorld(t)
			host := tt.host
			if host == "" {
				host = "mx1.example.test"
			}
			// one.test has only the first MX; two.test has a second one
			// that verifies.
			w.dns.Add("one.test. 60 IN MX 10 "+host+".",
				"two.test. 60 IN MX 10 "+host+".", "two.test. 60 IN MX 20 mx2.example.test.",
				host+". 60 IN A 127.0.0.2", "mx2.example.test. 60 IN A 127.0.0.3")
			pem := w.ca.PEM()
			if tt.pem != nil {
				pem = tt.pem(w)
			}
			w.writeControl("tlshosts/"+host+".pem", pem)
			w.writeControl("tlshosts/mx2.example.test.pem", w.ca.PEM())
			cfg, smtp := tt.server(setup{w: w, host: host})
			var s1 *smtptest.Server
			var raw *rawServer
			if smtp {
				s1 = w.server("127.0.0.2", cfg)
			} else {
				raw = startRawServer(t, fmt.Sprintf("127.0.0.2:%d", w.port))
			}
			s2 := w.server("127.0.0.3", smtptest.Config{TLS: serverTLS(w.issue("mx2.example.test"))})
			tr := w.transport(Options{TLS: TLSOptions{Policy: w.engine(policy.Options{})}})

			res := deliver(tr, job(1, "a@qsend.test", "b@one.test"))
			if tt.want == "" {
				want(t, res, 0, store.Delivered, "127.0.0.2 accepted message.")
				if s1.Count() != 1 {
					t.Fatalf("the first MX got %d messages", s1.Count())
				}
				noPlaintext(t, s1)
				return
			}
			if strings.HasSuffix(tt.want, ": ") {
				// The loader's words are its own; the start is qmail-tls's.
				if res[0].State != store.Deferred || !strings.HasPrefix(res[0].Text, tt.want) || !strings.HasSuffix(res[0].Text, ".\n") || !res[0].TLSPolicy {
					t.Fatalf("result %+v, want a TLS policy deferral starting %q", res[0], tt.want)
				}
				if s1.Connections() != 0 {
					t.Errorf("%d connections to the first MX: the pem should defer before connecting", s1.Connections())
				}
			} else {
				wantTLSDeferral(t, res, 0, tt.want, true)
			}

			res = deliver(tr, job(2, "a@qsend.test", "c@two.test"))
			want(t, res, 0, store.Delivered, "127.0.0.3 accepted message.")
			if s2.Count() != 1 {
				t.Fatalf("the second MX got %d messages", s2.Count())
			}
			noPlaintext(t, s2)
			if s1 != nil {
				nothingReceived(t, s1)
			} else {
				for _, c := range raw.commands() {
					if strings.HasPrefix(strings.ToUpper(c), "MAIL") {
						t.Errorf("the garbage server was sent %q", c)
					}
				}
			}
		})
	}
}

// TestTLSNoTLSHostsAndExhaustiveList: notlshosts/<mx> makes qsend speak
// plaintext to a server that offers STARTTLS; with tlshosts/exhaustivelist
// only hosts with a pem get TLS (qmail-tls qmail-remote.c tls_init()). Without either,
// STARTTLS is used when offered (may).
func TestTLSNoTLSHostsAndExhaustiveList(t *testing.T) {
	tests := []struct {
		name  string
		files []string // control files to create (empty), besides the pems
		pems  []string // hosts with a pem of the world's CA
		// whether mail to each domain goes over TLS
		wantTLS map[string]bool
	}{
		{name: "no files", wantTLS: map[string]bool{"one.test": true, "two.test": true}},
		{name: "notlshosts", files: []string{"notlshosts/mx1.example.test"}, wantTLS: map[string]bool{"one.test": false, "two.test": true}},
		{name: "notlshosts beside a pem", files: []string{"notlshosts/mx1.example.test"}, pems: []string{"mx1.example.test"},
			// qmail-tls qmail-remote.c tls_init(): the pem is looked at first.
			wantTLS: map[string]bool{"one.test": true, "two.test": true}},
		{name: "exhaustivelist", files: []string{"tlshosts/exhaustivelist"}, pems: []string{"mx2.example.test"},
			wantTLS: map[string]bool{"one.test": false, "two.test": true}},
		{name: "exhaustivelist without pems", files: []string{"tlshosts/exhaustivelist"},
			wantTLS: map[string]bool{"one.test": false, "two.test": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTLSWorld(t)
			w.dns.Add("one.test. 60 IN MX 10 mx1.example.test.", "two.test. 60 IN MX 10 mx2.example.test.",
				"mx1.example.test. 60 IN A 127.0.0.2", "mx2.example.test. 60 IN A 127.0.0.3")
			for _, f := range tt.files {
				w.writeControl(f, nil)
			}
			for _, h := range tt.pems {
				w.writeControl("tlshosts/"+h+".pem", w.ca.PEM())
			}
			servers := map[string]*smtptest.Server{
				"one.test": w.server("127.0.0.2", smtptest.Config{TLS: serverTLS(w.issue("mx1.example.test"))}),
				"two.test": w.server("127.0.0.3", smtptest.Config{TLS: serverTLS(w.issue("mx2.example.test"))}),
			}
			tr := w.transport(Options{TLS: TLSOptions{Policy: w.engine(policy.Options{})}})
			for i, d := range []string{"one.test", "two.test"} {
				res := deliver(tr, job(store.ID(i+1), "a@qsend.test", "b@"+d))
				want(t, res, 0, store.Delivered, "accepted message.")
				msgs := servers[d].Messages()
				if len(msgs) != 1 || msgs[0].TLS != tt.wantTLS[d] {
					t.Fatalf("%s: messages %d, TLS %v; want one, TLS %v", d, len(msgs), len(msgs) == 1 && msgs[0].TLS, tt.wantTLS[d])
				}
				sawSTARTTLS := false
				for _, c := range servers[d].Commands() {
					sawSTARTTLS = sawSTARTTLS || strings.EqualFold(c, "STARTTLS")
				}
				if sawSTARTTLS != tt.wantTLS[d] {
					t.Errorf("%s: STARTTLS sent %v, want %v", d, sawSTARTTLS, tt.wantTLS[d])
				}
			}
		})
	}
}

// TestTLSSMTPS: a route to port 465 means TLS from the first byte (SMTPS,
// qmail-tls qmail-remote.c tls_init()), verified against the relay's pem when there is
// one; a server that is not SMTPS there is a TLS failure, never plaintext.
func TestTLSSMTPS(t *testing.T) {
	tests := []struct {
		name    string
		pem     bool
		implied bool // the server speaks SMTPS
		other   bool // the server's certificate is from another CA
		broken  bool // the server's TLS accepts no version the client offers
		want    string
		// mayFailure: want is a TLS failure under may, not a policy
		// failure; the message is old enough for plaintext, which
		// SMTPS does not have.
		mayFailure bool
	}{
		{name: "pem, verified", pem: true, implied: true},
		{name: "no pem, opportunistic", implied: true},
		{name: "pem, other CA", pem: true, implied: true, other: true,
			want: "TLS unable to verify server with control/tlshosts/mx.example.test.pem: unable to get local issuer certificate; connected to 127.0.0.5.\n"},
		{name: "plaintext server on 465", pem: true,
			want: "TLS connect failed: first record does not look like a TLS handshake; connected to 127.0.0.5.\n"},
		{name: "no pem, handshake failure, no plaintext fallback", implied: true, broken: true, mayFailure: true,
			want: "TLS connect failed: remote error: tls: protocol version not supported; connected to 127.0.0.5.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTLSWorld(t)
			w.dns.Add("mx.example.test. 60 IN A 127.0.0.5")
			cert := w.issue("mx.example.test")
			if tt.other {
				cert = certtest.NewCA(t, "other CA").Issue(t, certtest.Options{DNSNames: []string{"mx.example.test"}})
			}
			cfg := smtptest.Config{TLS: serverTLS(cert), ImplicitTLS: tt.implied}
			if tt.broken {
				cfg.TLS = brokenTLS(cert)
			}
			if !tt.implied {
				cfg = smtptest.Config{}
			}
			s, err := smtptest.Listen("127.0.0.5:465", cfg)
			if errors.Is(err, syscall.EACCES) {
				t.Skipf("binding port 465 needs root or CAP_NET_BIND_SERVICE: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if tt.pem {
				w.writeControl("tlshosts/mx.example.test.pem", w.ca.PEM())
			}
			routes, err := mx.ParseRoutes([]string{"example.test:mx.example.test:465"})
			if err != nil {
				t.Fatal(err)
			}
			r := w.resolver(func(o *mx.Options) { o.Routes = routes })
			tr := w.transportOn(r, Options{TLS: TLSOptions{Policy: w.engine(policy.Options{}), RememberBroken: time.Hour}})
			res := deliver(tr, job(1, "a@qsend.test", "b@example.test"))
			if tt.want != "" {
				wantTLSDeferral(t, res, 0, tt.want, !tt.mayFailure)
				nothingReceived(t, s)
				if tt.mayFailure && s.Connections() != 1 {
					t.Errorf("%d connections to port 465, want 1: SMTPS has no plaintext to fall back to", s.Connections())
				}
				return
			}
			want(t, res, 0, store.Delivered, "127.0.0.5 accepted message.")
			msgs := s.Messages()
			if len(msgs) != 1 || !msgs[0].TLS {
				t.Fatalf("server got %+v, want one message over TLS", msgs)
			}
			for _, c := range s.Commands() {
				if strings.EqualFold(c, "STARTTLS") {
					t.Errorf("STARTTLS sent on an SMTPS connection")
				}
			}
		})
	}
}

// TestTLSClientCert: control/clientcert.pem (chain and key in one file) is
// presented when the server asks (qmail-tls qmail-remote.c tls_init()), and the server
// sees it; without the file, or with a broken one, none is sent and
// delivery goes on.
func TestTLSClientCert(t *testing.T) {
	tests := []struct {
		name string
		file func(w *tlsWorld) *certtest.Cert // writes clientcert.pem; returns what the server should see
	}{
		{name: "client certificate", file: func(w *tlsWorld) *certtest.Cert {
			c := w.issue("qsend.test")
			c.WriteFile(w.t, filepath.Join(w.control, "clientcert.pem"))
			return c
		}},
		{name: "client certificate with an intermediate", file: func(w *tlsWorld) *certtest.Cert {
			c := w.ca.Intermediate(w.t, "client intermediate").Issue(w.t, certtest.Options{CommonName: "qsend.test", DNSNames: []string{"qsend.test"}, Key: certtest.RSA})
			c.WriteFile(w.t, filepath.Join(w.control, "clientcert.pem"))
			return c
		}},
		{name: "no file", file: func(*tlsWorld) *certtest.Cert { return nil }},
		{name: "broken file", file: func(w *tlsWorld) *certtest.Cert {
			w.writeControl("clientcert.pem", []byte("-----BEGIN CERTIFICATE-----\nbroken\n"))
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTLSWorld(t)
			w.dns.Add("example.test. 60 IN MX 10 mx1.example.test.", "mx1.example.test. 60 IN A 127.0.0.2")
			cfg := serverTLS(w.issue("mx1.example.test"))
			cfg.ClientAuth = tls.RequestClientCert
			s := w.server("127.0.0.2", smtptest.Config{TLS: cfg})
			client := tt.file(w)
			tr := w.transport(Options{TLS: TLSOptions{Policy: w.engine(policy.Options{})}})
			res := deliver(tr, job(1, "a@qsend.test", "b@example.test"))
			want(t, res, 0, store.Delivered, "127.0.0.2 accepted message.")
			msgs := s.Messages()
			if len(msgs) != 1 || !msgs[0].TLS {
				t.Fatalf("server got %+v, want one message over TLS", msgs)
			}
			peer := msgs[0].TLSState.PeerCertificates
			if client == nil {
				if len(peer) != 0 {
					t.Fatalf("the server saw a client certificate for %q", peer[0].Subject)
				}
				return
			}
			if len(peer) != 1+len(client.Chain) || !peer[0].Equal(client.Cert) {
				t.Fatalf("the server saw %d certificates, want the client's and its %d intermediates", len(peer), len(client.Chain))
			}
			for i, c := range client.Chain {
				if !peer[i+1].Equal(c) {
					t.Errorf("chain certificate %d differs", i)
				}
			}
		})
	}
}

// TestTLSSMTPSWithTLSOff: a route to port 465 (SMTPS) for a host whose TLS
// notlshosts or exhaustivelist turns off cannot be delivered at all (qmail-tls
// misbehaves here, qmail-tls qmail-remote.c tls_init()); the message waits, and the
// reason must say what is wrong: the port needs TLS and the file turns it
// off.
func TestTLSSMTPSWithTLSOff(t *testing.T) {
	for _, file := range []string{"notlshosts/mx.example.test", "tlshosts/exhaustivelist"} {
		t.Run(file, func(t *testing.T) {
			w := newTLSWorld(t)
			w.dns.Add("mx.example.test. 60 IN A 127.0.0.5")
			s, err := smtptest.Listen("127.0.0.5:465", smtptest.Config{TLS: serverTLS(w.issue("mx.example.test")), ImplicitTLS: true})
			if errors.Is(err, syscall.EACCES) {
				t.Skipf("binding port 465 needs root or CAP_NET_BIND_SERVICE: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			w.writeControl(file, nil)
			routes, err := mx.ParseRoutes([]string{"example.test:mx.example.test:465"})
			if err != nil {
				t.Fatal(err)
			}
			r := w.resolver(func(o *mx.Options) { o.Routes = routes })
			tr := w.transportOn(r, Options{TLS: TLSOptions{Policy: w.engine(policy.Options{})}})
			res := deliver(tr, job(1, "a@qsend.test", "b@example.test"))
			text := res[0].Text
			if res[0].State != store.Deferred || strings.Contains(text, "required by") || !strings.Contains(text, "465") || !strings.Contains(text, file) {
				t.Errorf("result %v %q: want a deferral saying that port 465 needs TLS and %s turns it off", res[0].State, text, file)
			}
			nothingReceived(t, s)
		})
	}
}
