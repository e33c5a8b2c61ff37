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
	"sync/atomic"
	"time"
)

// Buffer sizes of a session: small, as a server holds thousands of idle
// sessions; DATA reads through the same reader.
const (
	readBufSize  = 4096
	writeBufSize = 1024
)

// closeWriteTimeout bounds the write of a last reply to a client that is
// refused or dropped, so that one that does not read cannot hold it.
const closeWriteTimeout = 5 * time.Second

// link is a session's connection with qmail-smtpd's I/O discipline: each
// read and each write gets its own timeout (timeoutsmtpd), and pending
// replies are flushed before a read, so pipelined commands get their
// replies in one write (qmail-smtpd's saferead flushes first).
//
// Reads have further deadlines, so that a client sending a byte now and
// then cannot hold a session: the whole session's, a command line's (it
// must arrive whole within timeoutsmtpd, as Postfix's
// smtpd_per_record_deadline makes of smtpd_timeout), and DATA's, which
// grows with the data received (Postfix's smtpd_per_request_deadline with
// smtpd_min_data_rate).
type link struct {
	c       net.Conn
	ctx     context.Context
	timeout time.Duration
	bw      *bufio.Writer

	end       time.Time // the session's deadline; zero: none
	lineDue   time.Time // the command line's deadline; zero: not reading one
	lineBytes int       // bytes read since the command line began

	data      bool // in DATA
	dataStart time.Time
	grace     time.Duration
	rate      int64 // bytes per second after grace; 0: none
	dataBytes int64

	// idle is when the session began waiting for the client (Unix
	// nanoseconds; 0: busy), credited in DATA with the time its data
	// earns at rate; the Server reads it to pick a session to drop.
	idle atomic.Int64
	// dropped is set by the Server to end the session at its next read.
	dropped atomic.Bool
}

func (l *link) Read(p []byte) (int, error) {
	if l.bw != nil && l.bw.Buffered() > 0 {
		if err := l.bw.Flush(); err != nil {
			return 0, err
		}
	}
	l.c.SetReadDeadline(l.readDeadline(time.Now()))
	// Checked after the deadline is set: the session's shutdown hook and
	// the Server's drop set a past deadline after ctx is done or dropped
	// is set, so a read cannot miss both.
	if err := l.ctx.Err(); err != nil {
		return 0, err
	}
	if l.dropped.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	n, err := l.c.Read(p)
	l.lineBytes += n
	if l.data && n > 0 {
		l.dataBytes += int64(n)
		l.idle.Store(l.dataEarned().UnixNano())
	}
	return n, err
}

func (l *link) Write(p []byte) (int, error) {
	now := time.Now()
	d := earliest(now.Add(l.timeout), l.end)
	if l.dropped.Load() || !d.After(now) {
		d = now.Add(closeWriteTimeout) // the last reply
	}
	l.c.SetWriteDeadline(d)
	return l.c.Write(p)
}

// readDeadline is the earliest of the deadlines that apply at now.
func (l *link) readDeadline(now time.Time) time.Time {
	d := earliest(now.Add(l.timeout), l.end)
	d = earliest(d, l.lineDue)
	if l.data {
		d = earliest(d, l.dataDue())
	}
	return d
}

// dataEarned is the instant up to which DATA's bytes so far keep the
// session within its rate: the start plus the time they earn. Without a
// rate, any data is progress: it is the time of the last read.
func (l *link) dataEarned() time.Time {
	if l.rate <= 0 {
		return time.Now()
	}
	return l.dataStart.Add(time.Duration(l.dataBytes * int64(time.Second) / l.rate))
}

// dataDue is DATA's deadline: the grace after what its bytes earned.
func (l *link) dataDue() time.Time {
	if l.rate <= 0 {
		return time.Time{}
	}
	return l.dataEarned().Add(l.grace)
}

// waiting notes that the session waits for the client from now: for its
// TLS handshake, or the greeting not yet sent.
func (l *link) waiting(now time.Time) { l.idle.Store(now.UnixNano()) }

// waitLine notes that the session waits for a command line from now, of
// which buffered bytes are already read.
func (l *link) waitLine(now time.Time, buffered int) {
	l.lineDue, l.lineBytes = now.Add(l.timeout), buffered
	l.idle.Store(now.UnixNano())
}

// gotLine notes that the command line has arrived: the session is busy.
func (l *link) gotLine() {
	l.lineDue = time.Time{}
	l.idle.Store(0)
}

// beginData starts DATA's rate from now; endData ends it.
func (l *link) beginData(now time.Time) {
	l.data, l.dataStart, l.dataBytes = true, now, 0
	l.idle.Store(now.UnixNano())
}

func (l *link) endData() {
	l.data = false
	l.idle.Store(0)
}

// deadlineHit names the deadline that a read's timeout came from.
type deadlineHit int

const (
	hitRead    deadlineHit = iota // timeoutsmtpd on one read
	hitDropped                    // the Server dropped the session
	hitSession                    // the whole session's
	hitLine                       // a command line that came too slowly
	hitData                       // DATA below its rate
)

// hit tells which deadline a timeout at now came from. A command line of
// which nothing arrived timed out as a qmail-smtpd read does.
func (l *link) hit(now time.Time) deadlineHit {
	switch {
	case l.dropped.Load():
		return hitDropped
	case !l.end.IsZero() && !now.Before(l.end):
		return hitSession
	case l.data && l.rate > 0 && !now.Before(l.dataDue()):
		return hitData
	case !l.lineDue.IsZero() && !now.Before(l.lineDue) && l.lineBytes > 0:
		return hitLine
	}
	return hitRead
}

// earliest returns the earlier of a and b; a zero b is no deadline.
func earliest(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
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

	helo    string
	heloSet bool
	// ehlo is set after EHLO: the client was offered the extensions,
	// ENHANCEDSTATUSCODES among them, until HELO or STARTTLS.
	ehlo       bool
	verb       string // the command being answered, lower case
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
	utf8       bool // MAIL had SMTPUTF8 (RFC 6531 §3.4)

	errors   int
	messages int
	closing  bool
	end      string // why the session ended, for the log

	// Held under srv.mu: the session's place in the Server's counts.
	key     netip.Addr // clientKey of the remote address
	relay   bool       // counted as a client that may relay
	counted bool       // counted (not yet released or dropped)
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
	s.link = &link{c: c, timeout: o.Timeout, grace: o.DataGrace, rate: max(o.MinDataRate, 0)}
	s.link.waiting(time.Now())
	return s
}

func (s *session) run(ctx context.Context) {
	start := time.Now()
	s.ctx = ctx
	s.link.ctx = ctx
	if s.o.SessionTimeout > 0 {
		s.link.end = start.Add(s.o.SessionTimeout)
	}
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
	s.verb = verb
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
		s.link.beginData(time.Now())
		s.dataCmd()
		s.link.endData()
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
	s.link.waitLine(time.Now(), s.br.Buffered())
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
			return nil, false, err // the deadline stays for readFailed
		}
	}
	s.link.gotLine()
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
// client was silent for Timeout, 421 with the reason for the other
// deadlines and for a session dropped to make room.
func (s *session) readFailed(err error) {
	switch {
	case s.ctx.Err() != nil:
		s.reply(replyShutdown)
		s.close("server shutdown")
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.timedOut()
	case errors.Is(err, io.EOF):
		s.close("client closed the connection")
	default:
		s.close("read error: " + err.Error())
	}
}

// timedOut ends the session whose read passed a deadline, with the
// deadline's reply.
func (s *session) timedOut() {
	switch s.link.hit(time.Now()) {
	case hitDropped:
		s.reply(replyDropped)
		s.close("dropped: idle while the server is full")
	case hitSession:
		s.reply(replySessionTooLong)
		s.close("session time limit")
	case hitData:
		s.reply(replyDataTooSlow)
		s.close("data below the minimum rate")
	case hitLine:
		s.reply(replyLineTooSlow)
		s.close("command line too slow")
	default:
		s.reply(replyTimeout)
		s.close("timeout")
	}
}

// reply queues one reply line; it is sent before the next read or at the
// end of the session. 4xx and 5xx replies count towards MaxErrors.
func (s *session) reply(text string) {
	s.send(text)
	if text[0] == '4' || text[0] == '5' {
		s.errors++
	}
}

// send queues one reply line that does not count towards MaxErrors.
// After EHLO it carries an enhanced status code, except in the answer to
// EHLO itself (RFC 2034 §4).
func (s *session) send(text string) {
	if s.ehlo && s.verb != "ehlo" {
		text = enhanced(text, s.verb)
	}
	s.bw.WriteString(text)
	s.bw.WriteString("\r\n")
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
	s.utf8 = false
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
