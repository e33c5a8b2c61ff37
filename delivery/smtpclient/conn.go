package smtpclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"
)

// Conn is one SMTP connection, greeted and ready for transactions. It is
// not safe for concurrent use.
type Conn struct {
	o       Options
	addr    netip.AddrPort
	host    string
	raw     net.Conn     // the TCP or Unix socket connection
	tc      *timeoutConn // raw with a deadline on every read and write
	r       *bufio.Reader
	w       *bufio.Writer
	ext     Extensions
	tls     *tls.ConnectionState
	refused *Reply      // the reply to a refused STARTTLS, when plaintext went on
	broken  atomic.Bool // a network error, a 421, or cancellation
	dirty   bool        // a transaction was begun: RSET before the next
	buf     []byte      // body read buffer, kept across messages
	// The step under way and the session's cap, for a *TimeoutError.
	phase        string
	phaseLimit   time.Duration
	sessionLimit time.Duration
}

// timeoutConn puts a deadline of d on every read and write
// (control/timeoutremote, qmail-remote.c getcontrols()), or the end of the
// step under way or of the session when that comes first (Options.Phases).
type timeoutConn struct {
	net.Conn
	d       time.Duration
	phase   time.Time // end of the step under way; zero: none
	session time.Time // end of the session's cap; zero: none
}

// deadline is the earliest of the three bounds from now.
func (t *timeoutConn) deadline() time.Time {
	dl := time.Now().Add(t.d)
	if !t.phase.IsZero() && t.phase.Before(dl) {
		dl = t.phase
	}
	if !t.session.IsZero() && t.session.Before(dl) {
		dl = t.session
	}
	return dl
}

func (t *timeoutConn) Read(p []byte) (int, error) {
	if err := t.Conn.SetReadDeadline(t.deadline()); err != nil {
		return 0, err
	}
	return t.Conn.Read(p)
}

func (t *timeoutConn) Write(p []byte) (int, error) {
	if err := t.Conn.SetWriteDeadline(t.deadline()); err != nil {
		return 0, err
	}
	return t.Conn.Write(p)
}

// startPhase gives the step named name d from now to complete.
func (c *Conn) startPhase(name string, d time.Duration) {
	c.tc.phase = time.Now().Add(d)
	c.phase, c.phaseLimit = name, d
}

// startStage starts the step of a command or reply at stage, with its
// deadline from Options.Phases.
func (c *Conn) startStage(stage Stage) {
	c.startPhase(stage.String(), c.o.Phases.limit(stage))
}

// timedOut turns a deadline error into a *TimeoutError when the session's
// cap or the step's deadline is what ran out, rather than the per-read
// timeout.
func (c *Conn) timedOut(err error) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	now := time.Now()
	switch {
	case !c.tc.session.IsZero() && !now.Before(c.tc.session):
		return &TimeoutError{Phase: "session", Limit: c.sessionLimit}
	case !c.tc.phase.IsZero() && !now.Before(c.tc.phase):
		return &TimeoutError{Phase: c.phase, Limit: c.phaseLimit}
	}
	return err
}

// errUnusable is the Err of an *Error for a connection that a network
// error, a 421 or cancellation has ended.
var errUnusable = errors.New("connection is no longer usable")

// Dial connects to addr over TCP and greets the server as NewConn does.
// host is the MX host name (for TLS and for the caller's texts); it may be
// "". Every failure is an *Error; the connection is then closed.
func Dial(ctx context.Context, addr netip.AddrPort, host string, o Options) (*Conn, error) {
	o = o.withDefaults()
	d := net.Dialer{Timeout: o.ConnectTimeout}
	raw, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, &Error{Stage: StageConnect, Err: err}
	}
	return newConn(ctx, raw, addr, host, o)
}

// NewConn greets the server on a connection the caller made (TCP or a Unix
// socket, for LMTP): it reads the greeting, says EHLO (HELO when EHLO gets
// a 5xx) or, with Options.LMTP, LHLO, starts TLS when offered and
// Options.TLSConfig(host) is not nil, then greets again. Options.Timeout
// bounds every read and write from here on; ConnectTimeout is not used.
// host names the server for TLS and for the caller's texts; it may be "".
// The Conn owns c: every failure is an *Error, and c is then closed.
func NewConn(ctx context.Context, c net.Conn, host string, o Options) (*Conn, error) {
	var addr netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		addr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return newConn(ctx, c, addr, host, o.withDefaults())
}

// newConn is the one code path of Dial and NewConn; o has its defaults.
func newConn(ctx context.Context, raw net.Conn, addr netip.AddrPort, host string, o Options) (*Conn, error) {
	c := &Conn{o: o, addr: addr, host: host, raw: raw, sessionLimit: o.Phases.Session,
		tc: &timeoutConn{Conn: raw, d: o.Timeout, session: time.Now().Add(o.Phases.Session)}}
	c.setStream(c.tc)
	stop := c.watch(ctx)
	defer stop()
	if err := c.greet(ctx); err != nil {
		c.abandon()
		return nil, c.ctxErr(ctx, err)
	}
	return c, nil
}

// setStream puts a fresh reader and writer over rw; anything the old
// reader had buffered is dropped (RFC 3207 §6, CVE-2011-0411).
func (c *Conn) setStream(rw net.Conn) {
	c.r = bufio.NewReaderSize(rw, max(c.o.MaxLineLength+2, 4096))
	c.w = bufio.NewWriterSize(rw, 32*1024)
}

// watch closes the connection when ctx is done before the returned stop
// function is called.
func (c *Conn) watch(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		c.broken.Store(true)
		c.raw.Close()
	})
}

// ctxErr replaces the network error caused by closing the connection on
// cancellation by the context's error.
func (c *Conn) ctxErr(ctx context.Context, err error) error {
	var e *Error
	if ctx.Err() != nil && errors.As(err, &e) && e.Reply == nil {
		e.Err = fmt.Errorf("%w (%w)", ctx.Err(), e.Err)
	}
	return err
}

// greet reads the greeting, says EHLO or HELO, and starts TLS. With
// ImplicitTLS the handshake comes first and the greeting is read inside
// TLS (SMTPS, qmail-tls qmail-remote.8 and smtp()).
func (c *Conn) greet(ctx context.Context) error {
	var cfg *tls.Config
	if c.o.TLSConfig != nil {
		cfg = c.o.TLSConfig(c.host)
	}
	if c.o.ImplicitTLS {
		if cfg == nil {
			return &Error{Stage: StageStartTLS, Err: ErrNoTLS}
		}
		c.startPhase("TLS handshake", c.o.Phases.StartTLS)
		if err := c.handshake(ctx, cfg); err != nil {
			return err
		}
	}
	rep, err := c.read(StageGreeting)
	if err != nil {
		return err
	}
	// qmail-remote.c smtp(): anything but 220 is "greeting failed". A 554
	// greeting (RFC 5321 §3.1) is permanent for this host only; the caller
	// may try the next MX as Postfix's smtp_skip_5xx_greeting does.
	if rep.Code != 220 {
		return &Error{Stage: StageGreeting, Reply: &rep}
	}
	if err := c.hello(); err != nil {
		return err
	}
	switch {
	case c.tls != nil:
		return nil
	case cfg != nil && c.ext.StartTLS:
		return c.startTLS(ctx, cfg)
	case c.o.RequireTLS:
		// qmail-tls qmail-remote.c tls_init(): "No TLS achieved while ... exists".
		return &Error{Stage: StageStartTLS, Err: ErrNoTLS}
	}
	return nil
}

// hello says EHLO, and HELO when EHLO gets a 5xx (qmail-tls qmail-remote.c smtp(), ehlo(),
// RFC 5321 §3.2); with LMTP it says LHLO and nothing else (RFC 2033 §4.1:
// HELO and EHLO are not LMTP commands).
func (c *Conn) hello() error {
	if c.o.LMTP {
		rep, err := c.cmd(StageHelo, "LHLO "+c.o.HeloHost)
		if err != nil {
			return err
		}
		if !rep.Positive() {
			return &Error{Stage: StageHelo, Reply: &rep}
		}
		c.ext = parseExtensions(rep.Lines)
		return nil
	}
	rep, err := c.cmd(StageHelo, "EHLO "+c.o.HeloHost)
	if err != nil {
		return err
	}
	if rep.Positive() {
		c.ext = parseExtensions(rep.Lines)
		return nil
	}
	if rep.Code < 500 {
		return &Error{Stage: StageHelo, Reply: &rep}
	}
	c.ext = Extensions{}
	rep, err = c.cmd(StageHelo, "HELO "+c.o.HeloHost)
	if err != nil {
		return err
	}
	if !rep.Positive() {
		return &Error{Stage: StageHelo, Reply: &rep}
	}
	return nil
}

// startTLS runs STARTTLS (RFC 3207 §4) and greets again over TLS.
func (c *Conn) startTLS(ctx context.Context, cfg *tls.Config) error {
	rep, err := c.cmd(StageStartTLS, "STARTTLS")
	if err != nil {
		return err
	}
	if rep.Code != 220 {
		if c.o.RequireTLS {
			return &Error{Stage: StageStartTLS, Reply: &rep}
		}
		// qmail-tls qmail-remote.c tls_init(): a refused STARTTLS without a required
		// policy continues in plaintext with the EHLO answer already had.
		c.refused = &rep
		return nil
	}
	// Whatever the server sent after its 220 is in c.r and is dropped by
	// setStream in handshake: only bytes read through TLS count (RFC 3207
	// §6; the client side of CVE-2011-0411, which qmail-remote has,
	// qmail-tls qmail-remote.c tls_init()). The handshake is part of the
	// STARTTLS step (Postfix's smtp_starttls_timeout).
	c.startStage(StageStartTLS)
	if err := c.handshake(ctx, cfg); err != nil {
		return err
	}
	// RFC 3207 §4.2: forget what was learnt before TLS and ask again.
	c.ext = Extensions{}
	return c.hello()
}

// handshake starts TLS on the connection and reads and writes through it
// from then on.
func (c *Conn) handshake(ctx context.Context, cfg *tls.Config) error {
	tc := tls.Client(c.tc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.broken.Store(true)
		return &Error{Stage: StageStartTLS, Err: c.timedOut(err), Handshake: true}
	}
	st := tc.ConnectionState()
	c.tls = &st
	c.setStream(tc)
	return nil
}

// STARTTLSRefused returns the server's reply to STARTTLS when it refused it
// and the connection went on in plaintext.
func (c *Conn) STARTTLSRefused() (Reply, bool) {
	if c.refused == nil {
		return Reply{}, false
	}
	return *c.refused, true
}

// Ext returns the extensions the server announced (after TLS when TLS is on).
func (c *Conn) Ext() Extensions { return c.ext }

// TLS returns the TLS state and true when TLS was started.
func (c *Conn) TLS() (tls.ConnectionState, bool) {
	if c.tls == nil {
		return tls.ConnectionState{}, false
	}
	return *c.tls, true
}

// Addr returns the address connected to; the zero AddrPort for a
// connection given to NewConn that is not TCP (a Unix socket).
func (c *Conn) Addr() netip.AddrPort { return c.addr }

// Host returns the host name given to Dial or NewConn.
func (c *Conn) Host() string { return c.host }

// Usable reports whether the connection can take another transaction: false
// after a network error, a 421, a malformed reply or cancellation.
func (c *Conn) Usable() bool { return !c.broken.Load() }

// Reset sends RSET (RFC 5321 §4.1.1.5), for reuse between messages.
func (c *Conn) Reset(ctx context.Context) error {
	if !c.Usable() {
		return &Error{Stage: StageMail, Err: errUnusable}
	}
	stop := c.watch(ctx)
	defer stop()
	rep, err := c.cmd(StageMail, "RSET")
	if err != nil {
		return c.ctxErr(ctx, err)
	}
	if !rep.Positive() {
		return &Error{Stage: StageMail, Reply: &rep}
	}
	c.dirty = false
	return nil
}

// Quit sends QUIT, waits briefly for the reply, and closes the connection.
// Like qmail-remote (qmail-remote.c quit()) it does not insist on the reply.
func (c *Conn) Quit() error {
	if c.Usable() {
		c.tc.d = min(c.tc.d, quitWait)
		c.startPhase("QUIT", quitWait)
		if _, err := c.cmd(StageMail, "QUIT"); err == nil {
			c.broken.Store(true)
		}
	}
	return c.Close()
}

// Close closes the connection without QUIT.
func (c *Conn) Close() error {
	c.broken.Store(true)
	err := c.raw.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// abandon sends QUIT if the connection still works, then closes it.
func (c *Conn) abandon() {
	c.Quit()
}

// cmd writes one command line and reads its reply, each within the
// stage's deadline.
func (c *Conn) cmd(stage Stage, line string) (Reply, error) {
	c.startStage(stage)
	if err := c.write(stage, line); err != nil {
		return Reply{}, err
	}
	if err := c.flush(stage, false); err != nil {
		return Reply{}, err
	}
	return c.read(stage)
}

// write buffers one command line.
func (c *Conn) write(stage Stage, line string) error {
	c.w.WriteString(line)
	if _, err := c.w.WriteString("\r\n"); err != nil {
		return c.netErr(stage, err, false)
	}
	return nil
}

func (c *Conn) flush(stage Stage, afterDot bool) error {
	if c.r.Buffered() > 0 {
		// Every reply asked for so far has been read, so these bytes answer
		// nothing this client sent (RFC 5321 §4.2: a reply answers one
		// command; RFC 2920 §3.2 lets only the replies of the group already
		// sent be outstanding). Read as the next reply they would answer the
		// wrong command: end the connection instead.
		rep, err := c.readReply()
		if err != nil {
			return c.netErr(stage, err, afterDot)
		}
		c.broken.Store(true)
		c.raw.Close()
		if rep.Code == 421 {
			// RFC 5321 §3.8: a server closing the channel may say so unasked.
			return &Error{Stage: stage, Reply: &rep, AfterDot: afterDot}
		}
		return &Error{Stage: stage, Reply: &rep, Err: ErrOutOfStep, AfterDot: afterDot}
	}
	if err := c.w.Flush(); err != nil {
		return c.netErr(stage, err, afterDot)
	}
	return nil
}

// read reads one reply, which must be complete within the stage's
// deadline (Options.Phases); a 421 marks the connection unusable (RFC 5321
// §3.8: the server is closing the channel).
func (c *Conn) read(stage Stage) (Reply, error) {
	return c.readAfter(stage, false)
}

func (c *Conn) readAfter(stage Stage, afterDot bool) (Reply, error) {
	c.startStage(stage)
	rep, err := c.readReply()
	if err != nil {
		return Reply{}, c.netErr(stage, err, afterDot)
	}
	if rep.Code == 421 {
		c.broken.Store(true)
		c.raw.Close()
	}
	if !inStep(stage, rep.Code) {
		// The server and this client disagree about where the dialogue is:
		// nothing it says from here on can be trusted to answer what was
		// asked, so the connection ends and every recipient not yet decided
		// is deferred with this reply.
		c.broken.Store(true)
		c.raw.Close()
		return rep, &Error{Stage: stage, Reply: &rep, Err: ErrOutOfStep, AfterDot: afterDot}
	}
	return rep, nil
}

// ErrOutOfStep is the Err of an *Error for a reply that the command it
// answers cannot have: a 3xx to anything but DATA, anything but 354 or a
// refusal to DATA, or a 220 to anything but the connection and STARTTLS.
// Its Reply is the reply; the failure is temporary whatever the code, and
// the connection has been closed.
var ErrOutOfStep = errors.New("reply out of step with the dialogue")

// inStep reports whether code is a reply that a command at stage may get.
// RFC 5321 §4.3.2: 354 is the only positive reply to DATA, the one that
// opens the data, and no other command has an intermediate (3xx) reply.
// So a 250 to DATA (which, taken as the final reply, would mark a message
// delivered whose body was never sent) or a 354 to the final dot ends the
// connection instead of deciding recipients. Postfix's client likewise
// sends the body only after a 3xx to DATA and fails the transaction
// otherwise; qmail-remote.c smtp() refuses only 4xx and 5xx to DATA.
// Likewise 220 answers the connection (RFC 5321 §4.3.2) and STARTTLS
// (RFC 3207 §4) and nothing else: one to EHLO, MAIL, RCPT or the final
// dot is a second greeting, after which each reply would be read as the
// answer to the command after the one it answers.
func inStep(stage Stage, code int) bool {
	switch {
	case code >= 400:
		return true
	case stage == StageData:
		return code == 354
	case code == 220:
		return stage == StageGreeting || stage == StageStartTLS
	}
	return code < 300
}

// readReply reads one reply within the connection's bounds on lines and
// bytes.
func (c *Conn) readReply() (Reply, error) {
	return readReplyLimit(c.r, c.o.MaxLineLength, c.o.MaxReplyBytes)
}

func (c *Conn) netErr(stage Stage, err error, afterDot bool) error {
	c.broken.Store(true)
	c.raw.Close()
	return &Error{Stage: stage, Err: c.timedOut(err), AfterDot: afterDot}
}
