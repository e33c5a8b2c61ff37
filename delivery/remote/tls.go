package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/tls/ciphers"
	"github.com/qsend/qsend/tls/dane"
	"github.com/qsend/qsend/tls/mtasts"
	"github.com/qsend/qsend/tls/policy"
)

// TLSOptions configure outbound TLS (docs/tls.md).
type TLSOptions struct {
	// Policy decides each attempt's TLS; nil means an engine without
	// files or table: opportunistic TLS, nothing verified.
	Policy *policy.Engine
	// STS looks MTA-STS policies up (RFC 8461); nil disables MTA-STS.
	STS *mtasts.Resolver
	// DANE looks TLSA records up for hosts whose names DNSSEC
	// authenticated (RFC 7672).
	DANE bool
	// PlaintextAfter is how long a message must have waited before an
	// opportunistic (may) destination whose every MX failed the TLS
	// handshake gets one plaintext attempt (Postfix: minimal_backoff_time).
	PlaintextAfter time.Duration
	// RememberBroken is how long a host whose handshake failed under may
	// is remembered, so that messages old enough for plaintext go there
	// in plaintext at once; 0 forgets at once.
	RememberBroken time.Duration
}

// route is how one attempt connects to a server: the TLS decision, and
// whether TLS is skipped (the plaintext fallback of may).
type route struct {
	dec   policy.Decision
	plain bool
	port  int
}

// key is the pool key of connections made for the route.
func (r route) key(addr netip.AddrPort) poolKey {
	k := "plain"
	if !r.plain && r.dec.Level != policy.None {
		k = r.dec.Key()
	}
	return poolKey{addr: addr, tls: k}
}

// options are the smtpclient options of a connection on the route.
func (t *Transport) options(r route) smtpclient.Options {
	o := t.o.Client
	o.ImplicitTLS = r.port == 465 // qmail-tls qmail-remote.8: port 465 is SMTPS
	o.RequireTLS = r.dec.Required()
	o.TLSConfig = nil
	if !r.plain {
		if cfg := r.dec.ClientConfig(r.dec.Host); cfg != nil {
			o.TLSConfig = func(string) *tls.Config { return cfg }
		}
	}
	return o
}

// decide returns the TLS decision for host of the plan, looking TLSA up
// when DANE applies; an error is a policy failure that defers before
// connecting (a TLSA lookup failure, an MX host MTA-STS does not allow).
func (t *Transport) decide(ctx context.Context, domain string, plan mx.Plan, h mx.Host, port int, sts *policy.STS) (policy.Decision, error) {
	in := policy.Input{Domain: domain, Host: h.Name, Routed: plan.Route != "", STS: sts}
	if t.o.TLS.DANE && plan.Secure && h.Secure && h.Name != "" {
		res, err := t.o.Resolver.HostTLSA(ctx, h, port)
		var me *mx.Error
		if errors.As(err, &me) {
			// The report text, not the resolver's details.
			err = errors.New(codedText(me))
		}
		in.TLSAErr = err
		in.TLSASecure, in.TLSABase = res.Secure, res.Name
		for _, r := range res.Records {
			in.TLSA = append(in.TLSA, dane.TLSA{Usage: r.Usage, Selector: r.Selector, MatchingType: r.MatchingType, Data: r.Data})
		}
	}
	return t.policy.Load().Decide(in)
}

// stsPolicy returns the MTA-STS policy of domain, nil when there is none
// or when mail to it is routed (the route is local configuration).
func (t *Transport) stsPolicy(ctx context.Context, domain string, plan mx.Plan) *policy.STS {
	if t.o.TLS.STS == nil || plan.Route != "" || strings.HasPrefix(domain, "[") {
		return nil
	}
	p, err := t.o.TLS.STS.Get(ctx, domain)
	if err != nil || p == nil {
		return nil
	}
	return &policy.STS{Mode: string(p.Mode), MX: p.MX}
}

// tlsFailure turns a failure to set TLS up on the route into qmail-tls's
// text (qmail-tls qmail-remote.c tls_quit()): whether it is a policy failure (the
// message is held rather than bounced at expiry), and whether it was a
// handshake failure under may (the host is then remembered as broken).
func tlsFailure(r route, se *smtpclient.Error, ip string) (text string, policyFailure, broken bool) {
	var f *policy.Failure
	switch {
	case errors.Is(se, smtpclient.ErrNoTLS) && r.port == 465 && !r.dec.Required():
		// SMTPS needs TLS, and notlshosts or exhaustivelist turned it off.
		file := r.dec.Source
		if file == "exhaustivelist" {
			file = "tlshosts/exhaustivelist"
		}
		return smtpsNoTLSText(r.dec.Host, file, ip), true, false
	case errors.Is(se, smtpclient.ErrNoTLS):
		return connectingText(r.dec.NoTLSText(), ip), true, false
	case se.Reply != nil:
		return connectingText(r.dec.RejectedText(), ip) + remoteSaid(se.Reply), true, false
	case errors.As(se.Err, &f):
		return connectedText(f.Text, ip), true, false
	}
	text = connectedText(tlsConnectFailed+tlsCause(se.Err), ip)
	// SMTPS (port 465) has no plaintext to fall back to (qmail-tls
	// qmail-remote.c smtp()), so a handshake failure there does not make the host broken.
	return text, r.dec.Required(), se.Handshake && !r.dec.Required() && r.port != 465
}

// tlsCause is the handshake error without Go's "tls: " prefix, the way
// OpenSSL's error strings read in qmail-tls's texts.
func tlsCause(err error) string {
	if err == nil {
		return textUnknownTLSError
	}
	return strings.TrimPrefix(err.Error(), "tls: ")
}

// tlsText describes a session's TLS for the logs, with OpenSSL's names as
// qmail-tls writes them.
func tlsText(c *smtpclient.Conn) string {
	st, ok := c.TLS()
	if !ok {
		return "plain"
	}
	return ciphers.VersionName(st.Version) + " " + ciphers.Name(st.CipherSuite, st.Version)
}

// brokenHosts remembers servers whose TLS handshake failed under may.
type brokenHosts struct {
	mu sync.Mutex
	m  map[netip.Addr]time.Time // until when
}

func (b *brokenHosts) mark(a netip.Addr, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = make(map[netip.Addr]time.Time)
	}
	b.m[a] = until
}

func (b *brokenHosts) has(a netip.Addr, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, ok := b.m[a]
	if ok && !now.Before(until) {
		delete(b.m, a)
		return false
	}
	return ok
}

// forget drops what has expired.
func (b *brokenHosts) forget(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for a, until := range b.m {
		if !now.Before(until) {
			delete(b.m, a)
		}
	}
}
