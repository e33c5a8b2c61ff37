package smtpd

import (
	"context"
	"errors"
	"github.com/qsend/qsend/smtpd/auth"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is what a listener serves.
type Mode int

const (
	// ModeSMTP is port 25: STARTTLS offered when a certificate is present.
	ModeSMTP Mode = iota
	// ModeSubmission is port 587: AUTH is required before MAIL.
	ModeSubmission
	// ModeSMTPS is implicit TLS (port 465, qmail-tls's SMTPS).
	ModeSMTPS
)

// String returns the mode's name as configuration spells it.
func (m Mode) String() string {
	switch m {
	case ModeSMTP:
		return "smtp"
	case ModeSubmission:
		return "submission"
	case ModeSMTPS:
		return "smtps"
	}
	return "mode(?)"
}

// Server is an SMTP server. Its methods may be called concurrently; the
// connection counts and the AUTH failure record are shared by every
// listener and session of one Server.
type Server struct {
	o atomic.Pointer[Options] // replaced by Reconfigure; a session keeps the one it began with

	mu        sync.Mutex
	total     int                   // sessions counted
	general   int                   // of them, of clients that may not relay
	perClient map[netip.Addr]int    // sessions per clientKey
	live      map[*session]struct{} // the sessions counted
	authFails *auth.Limiter         // failed AUTH attempts per client
	spools    sync.Pool             // *[]byte: message buffers that grew beyond keptSpool
}

// NewServer checks o and returns a Server.
func NewServer(o Options) (*Server, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		perClient: make(map[netip.Addr]int),
		live:      make(map[*session]struct{}),
		authFails: auth.NewLimiter(auth.LimiterOptions{MaxFailures: o.MaxAuthFailures, Window: o.AuthFailWindow,
			BaseDelay: max(o.AuthFailDelay, 0), MaxConcurrent: o.MaxAuthConcurrent, Now: o.Now}),
	}
	s.o.Store(&o)
	return s, nil
}

// Reconfigure replaces the options for sessions that begin from now on
// (the daemon's SIGHUP: control files take effect for new connections, as
// a new qmail-smtpd reads them). Connection counts carry over; the AUTH
// limits (failures, their window and delay, attempts at once) are fixed
// at NewServer.
func (s *Server) Reconfigure(o Options) error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	s.o.Store(&o)
	return nil
}

// Serve accepts connections on l and serves each in its own goroutine
// until ctx ends; then it closes l, ends the sessions (each gets a 421 at
// its next read) and returns nil once they are all gone. Any other accept
// error that is not temporary is returned, also after the sessions end.
func (s *Server) Serve(ctx context.Context, l net.Listener, mode Mode) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()

	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait and try again,
			// as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.o.Load().Logger.Warn("smtpd: accept failed, retrying", "listener", l.Addr().String(), "err", err, "delay", delay)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		info := connInfo(c, mode, s.o.Load().Me)
		wg.Go(func() {
			if s.o.Load().Rules != nil {
				if err := s.o.Load().Rules(ctx, &info); err != nil {
					s.o.Load().Logger.Info("smtpd: connection refused by rules", "remote", info.RemoteIP.String(), "err", err)
					c.Close()
					return
				}
			}
			s.ServeConn(ctx, c, info)
		})
	}
}

// connInfo describes a connection accepted by Serve. The local host name
// is Me, as qmail's run scripts give tcpserver "-l $(cat control/me)".
func connInfo(c net.Conn, mode Mode, me string) Conn {
	info := Conn{LocalHost: me, ImplicitTLS: mode == ModeSMTPS, RequireAuth: mode == ModeSubmission}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		info.RemoteIP, info.RemotePort = ap.Addr().Unmap(), ap.Port()
	}
	if ap, err := netip.ParseAddrPort(c.LocalAddr().String()); err == nil {
		info.LocalIP, info.LocalPort = ap.Addr().Unmap(), ap.Port()
	}
	return info
}

// ServeConn serves one session on c and closes it. The session ends at
// QUIT, at a fatal error, or when ctx ends.
func (s *Server) ServeConn(ctx context.Context, c net.Conn, info Conn) {
	defer c.Close()
	ss := newSession(s, c, info)
	if refusal := s.admit(ss); refusal != "" {
		c.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
		c.Write([]byte(refusal + "\r\n"))
		ss.o.Logger.Info("smtpd: connection refused", "remote", info.RemoteIP.String(), "reply", refusal)
		return
	}
	defer s.release(ss)
	ss.run(ctx)
}

// admit counts the new session ss, or returns the 421 text refusing it.
// A client that may relay when it connects (RELAYCLIENT, loopback) may
// use every one of MaxConnections; others leave RelayReserve of them
// free. When the limit the newcomer is under is reached, the session
// that has waited longest for its client, beyond BusyIdleTimeout, is
// dropped to make room instead of refusing the newcomer (Postfix, under
// stress, shortens smtpd_timeout to the same end; a session that is
// slow on purpose is the one to go).
func (s *Server) admit(ss *session) (refusal string) {
	o := ss.o
	ip := ss.info.RemoteIP
	ss.key = clientKey(ip)
	ss.relay = ss.info.Relay || ip.IsLoopback()
	s.mu.Lock()
	defer s.mu.Unlock()
	full := s.total >= o.MaxConnections || (!ss.relay && s.general >= o.MaxConnections-relayReserve(o))
	perClient := s.perClient[ss.key] >= o.MaxPerClient
	if full && (perClient || !s.dropIdle(o)) {
		return replyTooManyConns
	}
	if perClient {
		return replyTooManyClient
	}
	s.count(ss, true)
	return ""
}

// relayReserve is how many of MaxConnections are kept for clients that
// may relay.
func relayReserve(o *Options) int {
	if o.RelayReserve <= 0 {
		return 0
	}
	return int(float64(o.MaxConnections) * o.RelayReserve)
}

// dropIdle drops the session of a client that may not relay which has
// waited longest for its client, if that is longer than BusyIdleTimeout,
// and reports whether it did. Its slot is free at once; the session ends
// with 421 at its next read. s.mu is held.
func (s *Server) dropIdle(o *Options) bool {
	if o.BusyIdleTimeout <= 0 {
		return false
	}
	limit := time.Now().Add(-o.BusyIdleTimeout).UnixNano()
	var victim *session
	var oldest int64
	for ss := range s.live {
		if ss.relay {
			continue
		}
		if idle := ss.link.idle.Load(); idle != 0 && idle <= limit && (victim == nil || idle < oldest) {
			victim, oldest = ss, idle
		}
	}
	if victim == nil {
		return false
	}
	s.count(victim, false)
	victim.link.dropped.Store(true)
	victim.raw.SetReadDeadline(time.Unix(1, 0))
	o.Logger.Info("smtpd: idle session dropped to make room", "remote", ipString(victim.info),
		"port", int(victim.info.RemotePort), "idle", time.Since(time.Unix(0, oldest)).Round(time.Millisecond).String())
	return true
}

// count adds ss to the counts (add) or takes it out; s.mu is held.
func (s *Server) count(ss *session, add bool) {
	if ss.counted == add {
		return
	}
	ss.counted = add
	d := 1
	if !add {
		d = -1
	}
	s.total += d
	if !ss.relay {
		s.general += d
	}
	if s.perClient[ss.key] += d; s.perClient[ss.key] <= 0 {
		delete(s.perClient, ss.key)
	}
	if add {
		s.live[ss] = struct{}{}
	} else {
		delete(s.live, ss)
	}
}

// release takes the ended session ss out of the counts, unless it was
// dropped to make room and is out already.
func (s *Server) release(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count(ss, false)
}

// relaying notes that the client of ss may relay now (it has
// authenticated): its session counts in the share kept for such clients,
// and is no longer dropped to make room.
func (s *Server) relaying(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss.counted && !ss.relay {
		ss.relay = true
		s.general--
	}
}

// clientKey is the address limits are counted by: the address itself, or
// for IPv6 its /64, which one client usually holds whole.
func clientKey(ip netip.Addr) netip.Addr {
	if ip.Is6() && !ip.Is4In6() {
		p, err := ip.Prefix(64)
		if err == nil {
			return p.Addr()
		}
	}
	return ip
}

// sessions is the number of sessions being served.
func (s *Server) sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}
