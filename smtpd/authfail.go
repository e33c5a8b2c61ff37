package smtpd

import (
	"net/netip"
	"time"
)

// authFailures is one client address's failed AUTH attempts in the
// current window.
type authFailures struct {
	count int
	since time.Time // start of the window
}

// maxAuthFailRecords bounds the failure record; beyond it, expired
// entries are dropped at each new failure.
const maxAuthFailRecords = 4096

// authBlocked reports whether ip has used up its failed AUTH attempts.
func (s *Server) authBlocked(ip netip.Addr, now time.Time) bool {
	key := clientKey(ip)
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.authFails[key]
	if !ok {
		return false
	}
	if now.Sub(f.since) >= s.o.AuthFailWindow {
		delete(s.authFails, key)
		return false
	}
	return f.count >= s.o.MaxAuthFailures
}

// authFailed records a failed AUTH attempt of ip.
func (s *Server) authFailed(ip netip.Addr, now time.Time) {
	key := clientKey(ip)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.authFails) >= maxAuthFailRecords {
		for k, f := range s.authFails {
			if now.Sub(f.since) >= s.o.AuthFailWindow {
				delete(s.authFails, k)
			}
		}
	}
	f := s.authFails[key]
	if f.count == 0 || now.Sub(f.since) >= s.o.AuthFailWindow {
		f = authFailures{since: now}
	}
	f.count++
	s.authFails[key] = f
}
