package smtpd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"
)

// Buffer sizes of a session: small, as a server holds thousands of idle
// sessions; DATA reads through the same reader.
const (
	readBufSize  = 4096
	writeBufSize = 1024
)

// link is a session's connection with qmail-smtpd's I/O discipline: each
// read and each write gets its own timeout (timeoutsmtpd), and pending
// replies are flushed before a read, so pipelined commands get their
// replies in one write (qmail-smtpd's saferead flushes first).
type link struct {
	c       net.Conn
	ctx     context.Context
	timeout time.Duration
	bw      *bufio.Writer
}

func (l *link) Read(p []byte) (int, error) {
	if l.bw != nil && l.bw.Buffered() > 0 {
		if err := l.bw.Flush(); err != nil {
			return 0, err
		}
	}
	l.c.SetReadDeadline(time.Now().Add(l.timeout))
	// Checked after the deadline is set: the session's shutdown hook sets
	// a past deadline after ctx is done, so a read cannot miss both.
	if err := l.ctx.Err(); err != nil {
		return 0, err
	}
	return l.c.Read(p)
}

func (l *link) Write(p []byte) (int, error) {
	l.c.SetWriteDeadline(time.Now().Add(l.timeout))
	return l.c.Write(p)
}

// session is one SMTP session.
type session struct {
	srv  *Server
	o    *Options
	log  *slog.Logger
	ctx  context.Context
	raw  net.Conn
	info Conn

	link *link
	br   *bufio.Reader
	bw   *bufio.Writer
	line []byte // command line buffer
	out  []byte // DATA output buffer

	spoolBuf []byte // the last message's memory, for the next

	requireAuth bool
	databytes   int64 // 0: no limit

	tls    *tls.ConnectionState
	cipher string

	helo       string
	heloSet    bool
	badHelo    bool
	authUser   string
	certTried  bool
	certEmail  string
	certReason string

	// the transaction
	mail       bool
	sender     string
	rcpts      []string
	bmf        bool
	bmfNoRelay bool

	errors   int
	messages int
	closing  bool
	end      string // why the session ended, for the log
}

func newSession(srv *Server, c net.Conn, info Conn) *session {
	o := srv.o.Load()
	s := &session{
		srv:         srv,
		o:           o,
		raw:         c,
		info:        info,
		requireAuth: o.RequireAuth || info.RequireAuth,
		databytes:   o.Databytes,
	}
	switch {
	case info.Databytes > 0:
		s.databytes = info.Databytes
	case info.Databytes < 0:
		s.databytes = 0
	}
	s.log = o.Logger.With("remote", ipString(info), "port", int(info.RemotePort))
	return s
}

func (s *session) run(ctx context.Context) {
	start := time.Now()
	s.ctx = ctx
	s.link = &link{c: s.raw, ctx: ctx, timeout: s.o.Timeout}
	s.br = bufio.NewReaderSize(s.link, readBufSize)
	s.bw = bufio.NewWriterSize(s.link, writeBufSize)
	s.link.bw = s.bw
	stop := context.AfterFunc(ctx, func() { s.raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	defer func() {
		s.bw.Flush()
		if tc, ok := s.link.c.(*tls.Conn); ok {
			// close_notify, so the client sees a clean end of TLS
			// (RFC 8446 §6.1) rather than a truncated stream.
			tc.SetWriteDeadline(time.Now().Add(time.Second))
			tc.CloseWrite()
		}
		s.log.Info("smtpd: session end", "helo", s.helo, "tls", s.cipher, "auth", s.authUser,
			"cert", s.certEmail, "messages", s.messages, "errors", s.errors,
			"duration", time.Since(start).Round(time.Millisecond).String(), "end", s.end)
	}()

	if s.info.ImplicitTLS {
		// SMTPS: the handshake comes first and any TLS error ends the
		// session (qmail-tls qmail-smtpd.c smtp_tls()).
		cfg, err := s.tlsConfig()
		if cfg == nil {
			s.end = "SMTPS without a certificate"
			if err != nil {
				s.end += ": " + err.Error()
			}
			return
		}
		if err := s.handshake(cfg); err != nil {
			s.end = "TLS handshake failed: " + err.Error()
			return
		}
	}
	s.reply("220 " + s.o.Greeting + " ESMTP")
	for !s.closing {
		line, tooLong, err := s.readLine()
		if err != nil {
			s.readFailed(err)
			break
		}
		if tooLong {
			s.reply(replyLineTooLong)
		} else {
			s.command(string(line))
		}
		if !s.closing && s.errors >= s.o.MaxErrors {
			s.reply(replyTooManyErrors)
			s.close("too many errors")
		}
	}
}

// command runs one command line.
func (s *session) command(line string) {
	verb, arg := parseCommand(line)
	switch verb {
	case "helo":
		s.heloCmd(arg)
	case "ehlo":
		s.ehloCmd(arg)
	case "mail":
		s.mailCmd(arg)
	case "rcpt":
		s.rcptCmd(arg)
	case "data":
		s.dataCmd()
	case "rset":
		s.resetTx()
		s.reply(replyFlushed)
	case "noop":
		s.reply(replyOK)
	case "vrfy":
		s.reply(replyVRFY)
	case "help":
		s.reply(replyHelp)
	case "quit":
		s.reply("221 " + s.o.Greeting)
		s.close("quit")
	case "starttls":
		s.starttlsCmd(arg)
	case "auth":
		s.authCmd(arg)
	default:
		s.reply(replyUnimpl)
	}
}

// readLine reads a line up to LF and removes the LF and one CR before it
// (qmail-smtpd.c, commands.c: command lines may end in a bare LF). A line
// longer than MaxLine is read to its end and dropped, with tooLong set.
func (s *session) readLine() (line []byte, tooLong bool, err error) {
	s.line = s.line[:0]
	for {
		chunk, err := s.br.ReadSlice('\n')
		if !tooLong {
			if len(s.line)+len(chunk) > s.o.MaxLine {
				tooLong = true
				s.line = s.line[:0]
			} else {
				s.line = append(s.line, chunk...)
			}
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, false, err
		}
	}
	if tooLong {
		return nil, true, nil
	}
	line = s.line[:len(s.line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, false, nil
}

// readFailed ends the session after a failed read: 421 when the server
// shuts down, qmail's 451 timeout (qmail-smtpd.c die_alarm()) when the
// client was silent for Timeout.
func (s *session) readFailed(err error) {
	switch {
	case s.ctx.Err() != nil:
		s.reply(replyShutdown)
		s.close("server shutdown")
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.reply(replyTimeout)
		s.close("timeout")
	case errors.Is(err, io.EOF):
		s.close("client closed the connection")
	default:
		s.close("read error: " + err.Error())
	}
}

// reply queues one reply line; it is sent before the next read or at the
// end of the session. 4xx and 5xx replies count towards MaxErrors.
func (s *session) reply(text string) {
	s.bw.WriteString(text)
	s.bw.WriteString("\r\n")
	if text[0] == '4' || text[0] == '5' {
		s.errors++
	}
}

// close ends the session after the current command.
func (s *session) close(why string) {
	s.closing = true
	if s.end == "" {
		s.end = why
	}
}

// resetTx forgets the transaction (RSET, HELO, EHLO, DATA, STARTTLS).
func (s *session) resetTx() {
	s.mail = false
	s.sender = ""
	s.rcpts = nil
	s.bmf, s.bmfNoRelay = false, false
}

// sleep waits d, or less if the session is cancelled.
func (s *session) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ctx.Done():
	}
}

func ipString(info Conn) string { return addrString(info.RemoteIP) }

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	return a.String()
}
