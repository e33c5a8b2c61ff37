// Package smtptest is a real SMTP server on loopback for the tests and
// benchmarks of qsend's SMTP client and remote transport. It speaks correct
// SMTP (RFC 5321) with scriptable replies: multi-line EHLO, pipelined input
// answered in order (RFC 2920), dot-unstuffing with a strict CRLF.CRLF end
// of data, STARTTLS (RFC 3207) with buffered plaintext discarded, RSET,
// NOOP and QUIT; or, with Config.LMTP, LMTP (RFC 2033) on TCP or a Unix
// socket.
package smtptest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// Config says what the server advertises and how it answers.
type Config struct {
	Hostname                                               string      // "smtptest.invalid" when empty
	Pipelining, EightBitMIME, SMTPUTF8, Enhanced, Chunking bool        // advertised extensions
	Size                                                   int64       // advertised SIZE (0: not advertised)
	TLS                                                    *tls.Config // advertise STARTTLS when set
	ImplicitTLS                                            bool        // SMTPS: handshake before the greeting (TLS must be set)
	// Reply scripts a reply for a command ("MAIL", "RCPT", "DATA", "DOT"
	// for the final one, "GREETING", "EHLO", "HELO", "STARTTLS", "RSET")
	// and its argument; return code 0 for the default. A text with "\n"
	// gives a multi-line reply; a 421 closes the connection after it.
	Reply     func(cmd, arg string) (code int, text string)
	MaxRcpts  int    // more recipients than this in one transaction get 452 4.5.3
	DropAfter string // close the connection right after receiving this command ("DATA", "DOT" = after the final dot, before replying)
	Discard   bool   // do not keep messages (benchmark sink); count them only
	// LineLimit, when positive, refuses after the final dot a message with
	// a line longer than this many octets without CRLF, with "500 Line too
	// long" as aiosmtpd does.
	LineLimit int
	// LMTP makes the server speak LMTP (RFC 2033): it answers LHLO (and
	// refuses HELO and EHLO, §4.1), and after the final dot sends one reply
	// per recipient accepted at RCPT, in RCPT order (§4.2), scripted per
	// recipient by Reply("DOT", rcpt) where rcpt is the bare address.
	LMTP bool
}

// Received is one message the server accepted.
type Received struct {
	Sender     string
	Rcpts      []string // with LMTP, those whose reply after the dot was 2xx
	Data       []byte   // after un-dot-stuffing, CRLF kept
	MailParams string   // what followed MAIL FROM:<...>
	TLS        bool
	TLSState   tls.ConnectionState // the session's TLS, when TLS
	Conn       int                 // connection number, from 1
}

// maxCommands bounds the command log.
const maxCommands = 100000

// Server is a running test server.
type Server struct {
	cfg  Config
	ln   net.Listener
	addr netip.AddrPort
	wg   sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	nconn  int
	count  int
	msgs   []Received
	cmds   []string
	early  []string
	closed bool
}

// Start starts a server on addr ("127.0.0.2:0") and stops it when the test
// ends; it fails the test if it cannot listen.
func Start(t testing.TB, addr string, cfg Config) *Server {
	t.Helper()
	s, err := Listen(addr, cfg)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// StartUnix starts a server on a Unix socket at path (for LMTP) and stops
// it when the test ends; Addr then returns the zero AddrPort.
func StartUnix(t testing.TB, path string, cfg Config) *Server {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	s := serve(ln, netip.AddrPort{}, cfg)
	t.Cleanup(func() { s.Close() })
	return s
}

// Listen starts a server on addr; Close stops it.
func Listen(addr string, cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ap, err := netip.ParseAddrPort(ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, err
	}
	return serve(ln, ap, cfg), nil
}

// serve runs the server on ln.
func serve(ln net.Listener, ap netip.AddrPort, cfg Config) *Server {
	if cfg.Hostname == "" {
		cfg.Hostname = "smtptest.invalid"
	}
	s := &Server{cfg: cfg, ln: ln, addr: ap, conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go s.accept()
	return s
}

// Addr returns the address the server listens on (zero for a Unix socket).
func (s *Server) Addr() netip.AddrPort { return s.addr }

// Close stops listening, closes every connection and waits for their
// goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.nconn++
		n := s.nconn
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			sess := &session{s: s, raw: c, n: n}
			sess.serve()
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Messages returns copies of the messages accepted so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Count returns the number of messages accepted.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Connections returns the number of connections accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nconn
}

// Commands returns every command line received (the first 100000), for
// pipelining assertions.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

// Early returns the commands (verb and argument) that arrived while the
// reply to an earlier command had not yet been sent: the proof that the
// client pipelined them instead of waiting (RFC 2920 §3.1).
func (s *Server) Early() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.early...)
}

// WaitCount waits until n messages were accepted or timeout passes.
func (s *Server) WaitCount(n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if s.Count() >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (s *Server) record(line string, early bool) {
	s.mu.Lock()
	if len(s.cmds) < maxCommands {
		s.cmds = append(s.cmds, line)
		if early {
			s.early = append(s.early, line)
		}
	}
	s.mu.Unlock()
}

func (s *Server) deliver(m Received) {
	s.mu.Lock()
	s.count++
	if !s.cfg.Discard {
		s.msgs = append(s.msgs, m)
	}
	s.mu.Unlock()
}

// newSession makes the buffered reader and writer of a session.
func newRW(c net.Conn) (*bufio.Reader, *bufio.Writer) {
	return bufio.NewReaderSize(c, 64*1024), bufio.NewWriterSize(c, 16*1024)
}
