package remote

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/certfile/certtest"
	"github.com/qsend/qsend/tls/ciphers"
	"github.com/qsend/qsend/tls/policy"
)

// TestTLSClientCiphers: control/tlsclientciphers, mapped onto Go's suites
// (qmail-tls qmail-remote.c tls_init()), is what the client offers, so a TLS 1.2
// server that could pick any suite settles on the one asked for; a list
// the server cannot meet fails the handshake and the message waits,
// rather than going out with another suite or in plaintext.
func TestTLSClientCiphers(t *testing.T) {
	tests := []struct {
		ciphers string
		want    uint16 // 0: the handshake fails
	}{
		{"ECDHE-RSA-AES128-GCM-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
		{"ECDHE-RSA-AES256-GCM-SHA384", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
		{"ECDHE-RSA-CHACHA20-POLY1305", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
		{"!AESGCM:ECDHE-RSA-AES256-SHA:ECDHE-RSA-CHACHA20-POLY1305", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
		{"ECDHE-ECDSA-AES128-GCM-SHA256", 0}, // an RSA server has no ECDSA key
	}
	for _, tt := range tests {
		t.Run(tt.ciphers, func(t *testing.T) {
			suites, err := ciphers.Parse(tt.ciphers)
			if err != nil {
				t.Fatal(err)
			}
			w := newTLSWorld(t)
			w.dns.Add("example.test. 60 IN MX 10 mx1.example.test.", "mx1.example.test. 60 IN A 127.0.0.2")
			cfg := serverTLS(w.ca.Issue(t, certtest.Options{DNSNames: []string{"mx1.example.test"}, Key: certtest.RSA}))
			cfg.MaxVersion = tls.VersionTLS12 // TLS 1.3 suites are not configurable
			s := w.server("127.0.0.2", smtptest.Config{TLS: cfg})
			tr := w.transport(Options{TLS: TLSOptions{Policy: w.engine(policy.Options{ClientCiphers: suites}), PlaintextAfter: time.Hour}})
			res := deliver(tr, job(1, "a@qsend.test", "b@example.test"))
			if tt.want == 0 {
				wantTLSDeferral(t, res, 0, "TLS connect failed: remote error: tls: handshake failure; connected to 127.0.0.2.\n", false)
				nothingReceived(t, s)
				return
			}
			want(t, res, 0, store.Delivered, "127.0.0.2 accepted message.")
			msgs := s.Messages()
			if len(msgs) != 1 || !msgs[0].TLS {
				t.Fatalf("server got %+v, want one message over TLS", msgs)
			}
			if st := msgs[0].TLSState; st.CipherSuite != tt.want || st.Version != tls.VersionTLS12 {
				t.Fatalf("the server negotiated %s %s, want %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), tls.CipherSuiteName(tt.want))
			}
		})
	}
}

// TestTLSMayRemembersBrokenHosts: under may, a handshake failure moves on
// to the next MX; when every MX failed, a young message waits (no
// plaintext) and the hosts are remembered; a message that has waited
// tls.plaintext_after goes to a remembered host in plaintext at once,
// without trying TLS there again (Postfix's rule, HISTORY
// 20140218 and smtp_tls_security_level may).
func TestTLSMayRemembersBrokenHosts(t *testing.T) {
	w := newTLSWorld(t)
	w.dns.Add("example.test. 60 IN MX 10 mx1.example.test.", "example.test. 60 IN MX 20 mx2.example.test.",
		"mx1.example.test. 60 IN A 127.0.0.2", "mx2.example.test. 60 IN A 127.0.0.3",
		"mixed.test. 60 IN MX 10 mx1.example.test.", "mixed.test. 60 IN MX 20 mx4.example.test.",
		"mx4.example.test. 60 IN A 127.0.0.4")
	var h1, h2, h4 atomic.Int64
	s1 := w.server("127.0.0.2", smtptest.Config{TLS: counted(brokenTLS(w.issue("mx1.example.test")), &h1)})
	s2 := w.server("127.0.0.3", smtptest.Config{TLS: counted(brokenTLS(w.issue("mx2.example.test")), &h2)})
	s4 := w.server("127.0.0.4", smtptest.Config{TLS: counted(serverTLS(w.issue("mx4.example.test")), &h4)})
	tr := w.transport(Options{TLS: TLSOptions{Policy: w.engine(policy.Options{}), PlaintextAfter: time.Hour, RememberBroken: time.Hour}})
	young := func(id store.ID, rcpt string) []store.Result {
		return deliver(tr, job(id, "a@qsend.test", rcpt))
	}
	old := func(id store.ID, rcpt string) []store.Result {
		j := job(id, "a@qsend.test", rcpt)
		j.Msg.Born = time.Now().Add(-2 * time.Hour)
		return deliver(tr, j)
	}
	handshakes := func(want1, want2, want4 int64) {
		t.Helper()
		if h1.Load() != want1 || h2.Load() != want2 || h4.Load() != want4 {
			t.Fatalf("handshakes %d, %d, %d; want %d, %d, %d", h1.Load(), h2.Load(), h4.Load(), want1, want2, want4)
		}
	}

	// A handshake failure on the first MX moves on to the next, over TLS.
	res := young(1, "b@mixed.test")
	want(t, res, 0, store.Delivered, "127.0.0.4 accepted message.")
	noPlaintext(t, s4)
	handshakes(1, 0, 1)

	// Every MX fails: a young message waits, nothing goes in plaintext.
	res = young(2, "c@example.test")
	wantTLSDeferral(t, res, 0, "TLS connect failed: remote error: tls: protocol version not supported; connected to 127.0.0.3.\n", false)
	nothingReceived(t, s1, s2)
	handshakes(2, 1, 1)

	// Still young: TLS is tried again, even at remembered hosts.
	res = young(3, "d@example.test")
	wantTLSDeferral(t, res, 0, "TLS connect failed: remote error: tls: protocol version not supported; connected to 127.0.0.3.\n", false)
	nothingReceived(t, s1, s2)
	handshakes(3, 2, 1)

	// Old enough: the first MX, remembered broken, gets it in plaintext
	// at once.
	res = old(4, "e@example.test")
	want(t, res, 0, store.Delivered, "127.0.0.2 accepted message.")
	handshakes(3, 2, 1)
	if msgs := s1.Messages(); len(msgs) != 1 || msgs[0].TLS {
		t.Fatalf("first MX got %+v, want one message in plaintext", msgs)
	}
	if s2.Count() != 0 {
		t.Fatalf("second MX got %d messages", s2.Count())
	}
	counts := map[string]int64{}
	tr.Counters().TLS(func(class, level string, n int64) { counts[class+" "+level] = n })
	if counts["failed may"] != 5 || counts["plain may"] != 1 || counts["unverified may"] != 1 {
		t.Errorf("TLS counters %v", counts)
	}
}

// TestTLSMayPlaintextFallback: when every MX fails the handshake and the
// message has waited tls.plaintext_after (0 here, or a message born long
// ago), one plaintext attempt delivers it; a later message goes to the
// remembered host in plaintext without a handshake.
func TestTLSMayPlaintextFallback(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		age   time.Duration
	}{
		{name: "plaintext_after 0", after: 0},
		{name: "born long ago", after: time.Hour, age: 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTLSWorld(t)
			w.dns.Add("example.test. 60 IN MX 10 mx1.example.test.", "example.test. 60 IN MX 20 mx2.example.test.",
				"mx1.example.test. 60 IN A 127.0.0.2", "mx2.example.test. 60 IN A 127.0.0.3")
			var h1, h2 atomic.Int64
			s1 := w.server("127.0.0.2", smtptest.Config{TLS: counted(brokenTLS(w.issue("mx1.example.test")), &h1)})
			s2 := w.server("127.0.0.3", smtptest.Config{TLS: counted(brokenTLS(w.issue("mx2.example.test")), &h2)})
			tr := w.transport(Options{TLS: TLSOptions{Policy: w.engine(policy.Options{}), PlaintextAfter: tt.after, RememberBroken: time.Hour}})
			for i, rcpt := range []string{"b@example.test", "c@example.test"} {
				j := job(store.ID(i+1), "a@qsend.test", rcpt)
				j.Msg.Born = time.Now().Add(-tt.age)
				res := deliver(tr, j)
				want(t, res, 0, store.Delivered, "127.0.0.2 accepted message.")
				if h1.Load() != 1 || h2.Load() != 1 {
					t.Fatalf("message %d: handshakes %d and %d, want one at each MX, the first message's", i+1, h1.Load(), h2.Load())
				}
			}
			msgs := s1.Messages()
			if len(msgs) != 2 || msgs[0].TLS || msgs[1].TLS {
				t.Fatalf("first MX got %+v, want two messages in plaintext", msgs)
			}
			if s2.Count() != 0 {
				t.Fatalf("second MX got %d messages", s2.Count())
			}
		})
	}
}

// TestTLSTableLevels: tls.policy entries for the domain (Postfix's levels,
// smtp_tls_security_level): encrypt needs STARTTLS, verify checks the chain against
// the rule's CA file and the MX name, fingerprint pins the certificate or
// its key, none never starts TLS. Failures defer with the reason, marked
// as TLS policy failures, and send nothing.
func TestTLSTableLevels(t *testing.T) {
	type env struct {
		w      *tlsWorld
		cert   *certtest.Cert // the world's certificate for mx1.example.test
		other  *certtest.Cert // another one, with another key
		caFile string         // the world's CA as a file
	}
	pin := func(kind string, data []byte) string {
		sum := sha256.Sum256(data)
		return kind + ":" + hex.EncodeToString(sum[:])
	}
	tests := []struct {
		name    string
		rule    func(e env) policy.RuleSpec
		server  func(e env) smtptest.Config
		wantTLS bool               // delivered, over TLS or not
		want    func(e env) string // the deferral; nil = delivered
	}{
		{name: "encrypt, no STARTTLS",
			rule:   func(env) policy.RuleSpec { return policy.RuleSpec{Level: "encrypt"} },
			server: func(env) smtptest.Config { return smtptest.Config{} },
			want: func(env) string {
				return "No TLS achieved while TLS is required by tls.policy.example.test (encrypt); connecting to 127.0.0.2.\n"
			}},
		{name: "encrypt, STARTTLS refused",
			rule: func(env) policy.RuleSpec { return policy.RuleSpec{Level: "encrypt"} },
			server: func(e env) smtptest.Config {
				return smtptest.Config{TLS: serverTLS(e.cert), Reply: stage("STARTTLS", 454, "4.7.0 not now")}
			},
			want: func(env) string {
				return "STARTTLS rejected while TLS is required by tls.policy.example.test (encrypt); connecting to 127.0.0.2.\nRemote host said: 454 4.7.0 not now\n"
			}},
		{name: "encrypt, self-signed certificate",
			rule: func(env) policy.RuleSpec { return policy.RuleSpec{Level: "encrypt"} },
			server: func(e env) smtptest.Config {
				return smtptest.Config{TLS: serverTLS(certtest.SelfSigned(e.w.t, certtest.Options{DNSNames: []string{"whatever.test"}}))}
			},
			wantTLS: true},
		{name: "verify, CA file",
			rule:    func(e env) policy.RuleSpec { return policy.RuleSpec{Level: "verify", CAFile: e.caFile} },
			server:  func(e env) smtptest.Config { return smtptest.Config{TLS: serverTLS(e.cert)} },
			wantTLS: true},
		{name: "verify, other CA",
			rule: func(e env) policy.RuleSpec { return policy.RuleSpec{Level: "verify", CAFile: e.caFile} },
			server: func(e env) smtptest.Config {
				return smtptest.Config{TLS: serverTLS(certtest.NewCA(e.w.t, "other CA").Issue(e.w.t, certtest.Options{DNSNames: []string{"mx1.example.test"}}))}
			},
			want: func(env) string {
				return "TLS unable to verify server mx1.example.test: unable to get local issuer certificate; connected to 127.0.0.2.\n"
			}},
		{name: "verify, name mismatch",
			rule:   func(e env) policy.RuleSpec { return policy.RuleSpec{Level: "verify", CAFile: e.caFile} },
			server: func(e env) smtptest.Config { return smtptest.Config{TLS: serverTLS(e.w.issue("other.example.test"))} },
			want: func(env) string {
				return "TLS unable to verify server mx1.example.test: received certificate for other.example.test; connected to 127.0.0.2.\n"
			}},
		{name: "verify, no STARTTLS",
			rule:   func(e env) policy.RuleSpec { return policy.RuleSpec{Level: "verify", CAFile: e.caFile} },
			server: func(env) smtptest.Config { return smtptest.Config{} },
			want: func(env) string {
				return "No TLS achieved while TLS is required by tls.policy.example.test (verify); connecting to 127.0.0.2.\n"
			}},
		{name: "fingerprint, certificate pin",
			rule: func(e env) policy.RuleSpec {
				return policy.RuleSpec{Level: "fingerprint", Pins: []string{pin("sha256", e.cert.Cert.Raw)}}
			},
			server:  func(e env) smtptest.Config { return smtptest.Config{TLS: serverTLS(e.cert)} },
			wantTLS: true},
		{name: "fingerprint, key pin",
			rule: func(e env) policy.RuleSpec {
				return policy.RuleSpec{Level: "fingerprint", Pins: []string{"sha256:" + hex.EncodeToString(make([]byte, 32)), pin("spki-sha256", e.cert.Cert.RawSubjectPublicKeyInfo)}}
			},
			server:  func(e env) smtptest.Config { return smtptest.Config{TLS: serverTLS(e.cert)} },
			wantTLS: true},
		{name: "fingerprint, mismatch",
			rule: func(e env) policy.RuleSpec {
				return policy.RuleSpec{Level: "fingerprint", Pins: []string{pin("sha256", e.cert.Cert.Raw)}}
			},
			server: func(e env) smtptest.Config { return smtptest.Config{TLS: serverTLS(e.other)} },
			want: func(e env) string {
				return "TLS unable to verify server mx1.example.test: fingerprint mismatch (certificate " + pin("sha256", e.other.Cert.Raw) +
					", " + pin("spki-sha256", e.other.Cert.RawSubjectPublicKeyInfo) + "); connected to 127.0.0.2.\n"
			}},
		{name: "none",
			rule:   func(env) policy.RuleSpec { return policy.RuleSpec{Level: "none"} },
			server: func(e env) smtptest.Config { return smtptest.Config{TLS: serverTLS(e.cert)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTLSWorld(t)
			w.dns.Add("example.test. 60 IN MX 10 mx1.example.test.", "mx1.example.test. 60 IN A 127.0.0.2")
			e := env{w: w, cert: w.issue("mx1.example.test"), other: w.issue("mx1.example.test"), caFile: w.ca.WritePEM(t, filepath.Join(t.TempDir(), "ca.pem"))}
			rule, err := policy.CompileRule("example.test", tt.rule(e))
			if err != nil {
				t.Fatal(err)
			}
			s := w.server("127.0.0.2", tt.server(e))
			tr := w.transport(Options{TLS: TLSOptions{Policy: w.engine(policy.Options{Table: map[string]policy.Rule{"example.test": rule}})}})
			res := deliver(tr, job(1, "a@qsend.test", "b@example.test"))
			if tt.want != nil {
				wantTLSDeferral(t, res, 0, tt.want(e), true)
				nothingReceived(t, s)
				return
			}
			want(t, res, 0, store.Delivered, "127.0.0.2 accepted message.")
			msgs := s.Messages()
			if len(msgs) != 1 || msgs[0].TLS != tt.wantTLS {
				t.Fatalf("server got %+v, want one message, TLS %v", msgs, tt.wantTLS)
			}
		})
	}
}
