package remote

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/tls/ciphers"
	"github.com/qsend/qsend/tls/dane"
	"github.com/qsend/qsend/tls/mtasts"
	"github.com/qsend/qsend/tls/policy"
)

// ProbeReport is what Probe found out about delivery to one domain: the
// MTA-STS policy and, for every address of every MX host in the order
// delivery tries them, what the server offers and what qsend would do.
type ProbeReport struct {
	Domain string      `json:"domain"`          // the domain as planned (A-label)
	Route  string      `json:"route,omitempty"` // the smtproutes entry used, "" for MX
	Port   int         `json:"port"`            // the port connected to
	STS    *ProbeSTS   `json:"mta_sts,omitempty"`
	Hosts  []ProbeHost `json:"hosts"`
}

// Deliverable reports whether every server would take the mail.
func (r ProbeReport) Deliverable() bool {
	for _, h := range r.Hosts {
		if h.Action != ActionDeliver {
			return false
		}
	}
	return len(r.Hosts) > 0
}

// ProbeSTS is the domain's MTA-STS policy as delivery sees it (RFC 8461).
type ProbeSTS struct {
	Mode    string    `json:"mode,omitempty"`   // enforce, testing or none; "" without a policy
	MX      []string  `json:"mx,omitempty"`     // the policy's mx patterns
	Source  string    `json:"source"`           // "cache", "fetched" or "none"
	Error   string    `json:"error,omitempty"`  // why no current policy could be had
	Applied bool      `json:"applied"`          // delivery applies the policy (enforce or testing)
	Expires time.Time `json:"expires,omitzero"` // when the policy expires
}

// ProbeHost is what Probe found out about one address of one MX host.
type ProbeHost struct {
	Host string `json:"host"` // MX host, relay or the domain itself; "" for an address literal
	Pref int    `json:"pref"`
	Addr string `json:"addr"` // ip:port

	// The policy decision: level and where it came from ("tlshosts/<host>.pem",
	// "notlshosts/<host>", "table:<key>", "exhaustivelist", "dane",
	// "mta-sts", "default"), the TLSA records in force under dane, and the
	// MTA-STS mode ("enforce" or "testing") when MTA-STS decided.
	Level  string   `json:"level"`
	Source string   `json:"source"`
	TLSA   []string `json:"tlsa,omitempty"` // "usage selector matching-type data"
	// TLSAUnusable are the DNSSEC-signed TLSA records ignored as unusable
	// for SMTP, each with why, as posttls-finger says it: "1 1 1 <data>:
	// unsupported TLSA certificate usage 1" (RFC 7672 §3.1.3).
	TLSAUnusable []string `json:"tlsa_unusable,omitempty"`
	STSMode      string   `json:"mta_sts_mode,omitempty"`
	// PolicyError is a policy failure before connecting: delivery defers
	// without connecting; Probe connects all the same, for this report.
	PolicyError string `json:"policy_error,omitempty"`

	Connected       bool   `json:"connected"`       // the server greeted
	Error           string `json:"error,omitempty"` // why the connection or TLS failed
	StartTLSOffered bool   `json:"starttls_offered"`
	StartTLSRefused string `json:"starttls_refused,omitempty"` // the reply to a refused STARTTLS
	ImplicitTLS     bool   `json:"implicit_tls,omitempty"`     // SMTPS (port 465)

	TLS     bool        `json:"tls"`
	Version string      `json:"tls_version,omitempty"` // OpenSSL's name: "TLSv1.3"
	Cipher  string      `json:"cipher,omitempty"`      // OpenSSL's name, as qmail-tls logs it
	Chain   []ProbeCert `json:"chain,omitempty"`       // as the server sent it, leaf first

	// Verdict is the policy's certificate check: VerdictOK, the failure
	// text, VerdictNoCheck when the level checks nothing, VerdictNoTLS.
	Verdict string `json:"verdict"`
	// Class is how delivery counts the session: "verified" or
	// "unverified" (policy.Classify), "plain", or "failed" (TLS was
	// required or attempted and could not be had); "" when delivery would
	// not connect.
	Class string `json:"class,omitempty"`
	// Action is what delivery would do with mail for this server:
	// ActionDeliver, or "defer: " and the text it would store for the
	// recipients (without the final newline).
	Action string   `json:"action"`
	Notes  []string `json:"notes,omitempty"`
}

// ProbeCert describes one certificate of a server's chain.
type ProbeCert struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	DNSNames  []string  `json:"dns_names,omitempty"`
	IPs       []string  `json:"ips,omitempty"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// SHA256 and SPKISHA256 are written as tls.policy fingerprint pins
	// are: "sha256:<hex>" of the certificate, "spki-sha256:<hex>" of its
	// public key.
	SHA256     string `json:"sha256"`
	SPKISHA256 string `json:"spki_sha256"`
}

// Values of ProbeHost.Action and ProbeHost.Verdict.
const (
	ActionDeliver  = "deliver"
	ActionDefer    = "defer: "
	VerdictOK      = "ok"
	VerdictNoCheck = "not checked"
	VerdictNoTLS   = "no TLS"
)

// Probe tells what delivery to domain would do, server by server, without
// sending mail: the posttls-finger of qsend. It plans the domain, looks
// MTA-STS up and decides each server's TLS policy exactly as delivery does
// (the same Plan, stsPolicy, decide, options and tlsFailure), then
// connects, says EHLO, starts TLS as the policy would, says EHLO again and
// QUITs; MAIL is never sent. To report a chain that fails the policy, the
// handshake does not run the policy's check: Probe runs it afterwards on
// the finished handshake and reports both the chain and the verdict, with
// the text delivery would store. Nothing is counted or pooled. The error
// is a planning failure (an *mx.Error) or the end of ctx.
func (t *Transport) Probe(ctx context.Context, domain string) (ProbeReport, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	plan, err := t.o.Resolver.Plan(ctx, domain)
	if err != nil {
		return ProbeReport{Domain: domain}, err
	}
	port := plan.Port
	if port == 0 {
		port = t.o.Port
	}
	rep := ProbeReport{Domain: plan.Domain, Route: plan.Route, Port: port}
	rep.STS = t.probeSTS(ctx, domain, plan)
	sts := t.stsPolicy(ctx, domain, plan)
	if rep.STS != nil {
		rep.STS.Applied = sts != nil
	}
	for _, h := range plan.Hosts {
		dec, decErr := t.decide(ctx, domain, plan, h, port, sts)
		for _, ip := range h.Addrs {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			ph := probeDecision(h, dec, decErr)
			addr := netip.AddrPortFrom(ip, uint16(port))
			ph.Addr = addr.String()
			t.probeServer(ctx, &ph, route{dec: dec, port: port}, addr)
			if decErr != nil {
				ph.Action = ActionDefer + strings.TrimSuffix(policyText(decErr), "\n")
				ph.Class = ""
				if ph.TLS {
					ph.Verdict = VerdictNoCheck + noteNoCheckPolicy
				}
				ph.Notes = append(ph.Notes, noteDefersFirst)
			}
			if dec.Level == policy.May && port != 465 && t.broken.has(ip, t.o.Now()) {
				ph.Notes = append(ph.Notes, noteBroken)
			}
			rep.Hosts = append(rep.Hosts, ph)
		}
	}
	return rep, ctx.Err()
}

// probeSTS looks the domain's MTA-STS policy up for the report, where
// stsPolicy would (not for routed mail or address literals). It runs
// before stsPolicy, whose lookup then answers from the cache, so that the
// report says whether the policy was fetched and why it could not be.
func (t *Transport) probeSTS(ctx context.Context, domain string, plan mx.Plan) *ProbeSTS {
	if t.o.TLS.STS == nil || plan.Route != "" || strings.HasPrefix(domain, "[") {
		return nil
	}
	res := t.o.TLS.STS.Lookup(ctx, domain)
	if res.Policy == nil && (res.Err == nil || errors.Is(res.Err, mtasts.ErrNoRecord)) {
		return nil
	}
	s := &ProbeSTS{Source: string(res.Source), Expires: res.Expires}
	if res.Policy != nil {
		s.Mode, s.MX = string(res.Policy.Mode), res.Policy.MX
	}
	if res.Err != nil {
		s.Error = res.Err.Error()
	}
	return s
}

// probeDecision fills in the policy part of a host's report.
func probeDecision(h mx.Host, dec policy.Decision, decErr error) ProbeHost {
	ph := ProbeHost{Host: h.Name, Pref: h.Pref, Level: dec.Level.String(), Source: dec.Source}
	for _, r := range dec.TLSA {
		ph.TLSA = append(ph.TLSA, r.String())
	}
	for _, r := range dec.Unusable {
		ph.TLSAUnusable = append(ph.TLSAUnusable, r.String()+": "+dane.WhyUnusable(r))
	}
	if dec.Source == "mta-sts" {
		ph.STSMode = "enforce"
		if dec.Testing {
			ph.STSMode = "testing"
		}
	}
	if decErr != nil {
		ph.PolicyError = strings.TrimSuffix(policyText(decErr), "\n")
	}
	if dec.Warning != "" {
		ph.Notes = append(ph.Notes, stsWouldDefer+": "+dec.Warning)
	}
	return ph
}

// probeServer connects to addr on route r as delivery would, except that
// plaintext is never refused by smtpclient and the certificate is not
// checked during the handshake, and fills in what it found and what
// delivery would do.
func (t *Transport) probeServer(ctx context.Context, ph *ProbeHost, r route, addr netip.AddrPort) {
	ip := ipText(addr)
	o := t.options(r)
	// What RequireTLS and VerifyConnection would refuse is decided below
	// from what the session shows, with delivery's texts.
	o.RequireTLS = false
	if o.TLSConfig != nil {
		cfg := o.TLSConfig(r.dec.Host).Clone()
		cfg.VerifyConnection = nil // InsecureSkipVerify stays: Check runs below
		o.TLSConfig = func(string) *tls.Config { return cfg }
	}
	ph.ImplicitTLS = o.ImplicitTLS
	ph.Verdict = VerdictNoTLS
	c, err := smtpclient.Dial(ctx, addr, r.dec.Host, o)
	if err != nil {
		t.probeDialError(ph, r, err, ip, o.ImplicitTLS)
		return
	}
	defer c.Quit()
	ph.Connected = true
	st, on := c.TLS()
	refused, wasRefused := c.STARTTLSRefused()
	// The EHLO before STARTTLS offered it when TLS was started or refused;
	// without TLS, Ext is still that EHLO's answer.
	ph.StartTLSOffered = !o.ImplicitTLS && (on || wasRefused || c.Ext().StartTLS)
	if wasRefused {
		ph.StartTLSRefused = strings.TrimSuffix(strings.ReplaceAll(refused.Text(), "\r", ""), "\n")
	}
	switch {
	case on:
		probeTLS(ph, r, st, ip)
	case wasRefused && r.dec.Required():
		// RFC 3207 §4.1; qmail-tls qmail-remote.c tls_init(): defer, never plaintext.
		ph.fail(r, &smtpclient.Error{Stage: smtpclient.StageStartTLS, Reply: &refused}, ip)
	case r.dec.Required():
		ph.fail(r, &smtpclient.Error{Stage: smtpclient.StageStartTLS, Err: smtpclient.ErrNoTLS}, ip)
	default:
		ph.Class, ph.Action = "plain", ActionDeliver
		if r.dec.Testing {
			ph.Notes = append(ph.Notes, stsWouldDeferNoTLS)
		}
	}
}

// probeTLS records the TLS of a session and applies the policy's check.
func probeTLS(ph *ProbeHost, r route, st tls.ConnectionState, ip string) {
	ph.TLS = true
	ph.Version = ciphers.VersionName(st.Version)
	ph.Cipher = ciphers.Name(st.CipherSuite, st.Version)
	for _, c := range st.PeerCertificates {
		ph.Chain = append(ph.Chain, probeCert(c))
	}
	ph.Class, ph.Action = r.dec.Classify(st), ActionDeliver
	if r.dec.Level < policy.Verify {
		ph.Verdict = VerdictNoCheck + " (" + r.dec.Level.String() + ")"
		return
	}
	err := r.dec.Check(st)
	if err == nil {
		ph.Verdict = VerdictOK
		return
	}
	ph.Verdict = err.Error()
	if r.dec.Testing {
		// RFC 8461 §5: testing delivers and reports.
		ph.Notes = append(ph.Notes, stsWouldDefer+": "+err.Error())
		return
	}
	// In delivery the check fails the handshake (policy.Decision.ClientConfig).
	ph.fail(r, &smtpclient.Error{Stage: smtpclient.StageStartTLS, Err: err, Handshake: true}, ip)
}

// probeDialError records a connection that did not get through greeting,
// EHLO and TLS, with the text delivery would store.
func (t *Transport) probeDialError(ph *ProbeHost, r route, err error, ip string, implicit bool) {
	var se *smtpclient.Error
	if !errors.As(err, &se) || se.Stage == smtpclient.StageConnect {
		ph.Error = err.Error()
		ph.Action = ActionDefer + strings.TrimSuffix(noConnection, "\n")
		return
	}
	ph.Connected = true
	if se.Stage != smtpclient.StageStartTLS {
		ph.Error = err.Error()
		ph.Action = ActionDefer + strings.TrimSuffix(stageText(se.Stage, ip)+remoteSaid(se.Reply), "\n")
		return
	}
	// Without RequireTLS, a StageStartTLS error comes after the server
	// offered STARTTLS (or, with SMTPS, at the handshake).
	ph.StartTLSOffered = !implicit
	ph.Error = tlsCause(se.Err)
	if ph.fail(r, se, ip) {
		// Postfix's rule, as deliverDomain applies it.
		ph.Notes = append(ph.Notes, noteMayNext(t.o.TLS.PlaintextAfter))
	}
}

// fail sets the host's action to the deferral tlsFailure gives delivery
// for se, and reports whether delivery would remember the host as broken.
func (ph *ProbeHost) fail(r route, se *smtpclient.Error, ip string) (broken bool) {
	text, _, broken := tlsFailure(r, se, ip)
	ph.Class = "failed"
	ph.Action = ActionDefer + strings.TrimSuffix(text, "\n")
	return broken
}

// probeCert describes a certificate.
func probeCert(c *x509.Certificate) ProbeCert {
	sum := sha256.Sum256(c.Raw)
	spki := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	pc := ProbeCert{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		DNSNames: c.DNSNames, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		SHA256: "sha256:" + hex.EncodeToString(sum[:]), SPKISHA256: "spki-sha256:" + hex.EncodeToString(spki[:]),
	}
	for _, ip := range c.IPAddresses {
		pc.IPs = append(pc.IPs, ip.String())
	}
	return pc
}
