package smtpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/internal/testlib"
)

func TestDialGreetingAndHelo(t *testing.T) {
	tests := []struct {
		name      string
		script    []scripted
		wantStage Stage
		wantCode  int // 0: Dial succeeds
		temporary bool
		wantHelo  bool // HELO was used
	}{
		{"EHLO", nil, 0, 0, false, false},
		{"EHLO 5xx falls back to HELO", []scripted{{cmd: "EHLO", code: 502, text: "5.5.1 no"}}, 0, 0, false, true},
		{"EHLO 4xx", []scripted{{cmd: "EHLO", code: 451, text: "4.3.0 later"}}, StageHelo, 451, true, false},
		{"HELO refused too", []scripted{{cmd: "EHLO", code: 500, text: "no"}, {cmd: "HELO", code: 550, text: "go away"}}, StageHelo, 550, false, true},
		{"greeting 4xx", []scripted{{cmd: "GREETING", code: 450, text: "busy"}}, StageGreeting, 450, true, false},
		{"greeting 554", []scripted{{cmd: "GREETING", code: 554, text: "5.7.1 no service"}}, StageGreeting, 554, false, false},
		{"greeting 421", []scripted{{cmd: "GREETING", code: 421, text: "closing"}}, StageGreeting, 421, true, false},
		{"EHLO 421", []scripted{{cmd: "EHLO", code: 421, text: "closing"}}, StageHelo, 421, true, false},
		// A second greeting read as EHLO's reply would put every later
		// reply one command behind (RFC 5321 §4.3.2).
		{"EHLO 220", []scripted{{cmd: "EHLO", code: 220, text: "second greeting"}}, StageHelo, 220, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{Pipelining: true, Reply: replies(tt.script...)})
			c, err := Dial(context.Background(), s.Addr(), "", testOptions())
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer c.Close()
				if c.Ext().Pipelining == tt.wantHelo {
					t.Errorf("Pipelining = %v after HELO=%v", c.Ext().Pipelining, tt.wantHelo)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Stage != tt.wantStage || e.Reply == nil || e.Reply.Code != tt.wantCode || e.Temporary() != tt.temporary {
				t.Errorf("err = %+v (%v), want stage %v code %d temporary %v", e, e, tt.wantStage, tt.wantCode, tt.temporary)
			}
		})
	}
}

func TestDialConnectRefused(t *testing.T) {
	addr := testlib.FreeAddrOn(t, "127.0.0.2") // nothing listens there
	_, err := Dial(context.Background(), mustAddr(t, addr), "", testOptions())
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageConnect || !e.Temporary() {
		t.Fatalf("err = %v, want temporary connect error", err)
	}
}

func TestStartTLS(t *testing.T) {
	pki := newPKI(t, "mx.example.test")
	other := newPKI(t, "mx.example.test")
	serverTLS := &tls.Config{Certificates: []tls.Certificate{pki.server}}
	tests := []struct {
		name      string
		script    []scripted
		roots     *testPKI
		noConfig  bool
		require   bool
		implicit  bool
		plain     bool // the server offers no STARTTLS
		wantTLS   bool
		wantErr   bool
		wantReply bool
	}{
		{name: "success", roots: &pki, wantTLS: true},
		{name: "no config stays plaintext", noConfig: true},
		// qmail-tls qmail-remote.c tls_init(): a refused STARTTLS goes on in plaintext
		// unless TLS is required.
		{name: "refused", script: []scripted{{cmd: "STARTTLS", code: 454, text: "4.7.0 not now"}}, roots: &pki},
		{name: "refused required", script: []scripted{{cmd: "STARTTLS", code: 454, text: "4.7.0 not now"}}, roots: &pki, require: true, wantErr: true, wantReply: true},
		{name: "not offered", plain: true, roots: &pki},
		{name: "not offered required", plain: true, roots: &pki, require: true, wantErr: true},
		{name: "wrong CA", roots: &other, wantErr: true},
		{name: "implicit", implicit: true, roots: &pki, wantTLS: true},
		{name: "implicit wrong CA", implicit: true, roots: &other, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := smtptest.Config{TLS: serverTLS, ImplicitTLS: tt.implicit, Pipelining: true, Reply: replies(tt.script...)}
			if tt.plain {
				cfg.TLS = nil
			}
			s := smtptest.Start(t, "127.0.0.2:0", cfg)
			o := testOptions()
			o.RequireTLS, o.ImplicitTLS = tt.require, tt.implicit
			if !tt.noConfig {
				roots := tt.roots.pool
				o.TLSConfig = func(host string) *tls.Config {
					return &tls.Config{ServerName: host, RootCAs: roots}
				}
			}
			c, err := Dial(context.Background(), s.Addr(), "mx.example.test", o)
			if tt.wantErr {
				var e *Error
				if !errors.As(err, &e) || e.Stage != StageStartTLS || (e.Reply != nil) != tt.wantReply || !e.Temporary() {
					t.Fatalf("err = %v, want STARTTLS error (reply %v)", err, tt.wantReply)
				}
				if tt.plain && !errors.Is(err, ErrNoTLS) {
					t.Errorf("err = %v, want ErrNoTLS", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			if _, on := c.TLS(); on != tt.wantTLS {
				t.Fatalf("TLS = %v, want %v", on, tt.wantTLS)
			}
			if _, refused := c.STARTTLSRefused(); refused != (tt.script != nil) {
				t.Errorf("STARTTLSRefused = %v", refused)
			}
			if !tt.plain && !tt.implicit && c.Ext().StartTLS == tt.wantTLS {
				t.Errorf("STARTTLS still advertised = %v after TLS = %v", c.Ext().StartTLS, tt.wantTLS)
			}
			res, err := c.Send(context.Background(), Envelope{Sender: "a@x", Rcpts: []string{"b@y"}}, Message{Body: stringsReader("hi\n")})
			if err != nil || res[0].State != Delivered {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			if m := s.Messages(); len(m) != 1 || m[0].TLS != tt.wantTLS {
				t.Errorf("messages %+v, want one with TLS %v", m, tt.wantTLS)
			}
		})
	}
}

// TestStartTLSDiscardsPlaintext: a line a man in the middle appends after
// the 220 to STARTTLS must not be taken as the reply to the EHLO over TLS
// (RFC 3207 §6, CVE-2011-0411).
func TestStartTLSDiscardsPlaintext(t *testing.T) {
	pki := newPKI(t, "mx.example.test")
	addr := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "220 mx ESMTP\r\n")
		buf := make([]byte, 512)
		c.Read(buf) // EHLO
		io.WriteString(c, "250-mx\r\n250 STARTTLS\r\n")
		c.Read(buf) // STARTTLS
		io.WriteString(c, "220 go ahead\r\n550 injected\r\n")
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{pki.server}})
		if tc.Handshake() != nil {
			return
		}
		tc.Read(buf) // EHLO
		io.WriteString(tc, "250-mx\r\n250 PIPELINING\r\n")
		tc.Read(buf)
	})
	o := testOptions()
	o.TLSConfig = func(host string) *tls.Config { return &tls.Config{ServerName: host, RootCAs: pki.pool} }
	c, err := Dial(context.Background(), addr, "mx.example.test", o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if !c.Ext().Pipelining {
		t.Errorf("EHLO over TLS not seen: %+v", c.Ext())
	}
}

func TestTimeout(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		io.Copy(io.Discard, c) // never answers
	})
	o := testOptions()
	o.Timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := Dial(context.Background(), addr, "", o)
	var e *Error
	var ne net.Error
	if !errors.As(err, &e) || e.Stage != StageGreeting || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want greeting timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestContextCancel(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		io.Copy(io.Discard, c)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Dial(ctx, addr, "", testOptions())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}
