package policy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/qsend/qsend/tls/certfile"
	"github.com/qsend/qsend/tls/dane"
)

// Options configure an Engine.
type Options struct {
	// ControlDir holds qmail-tls's files: tlshosts/<host>.pem,
	// tlshosts/exhaustivelist, notlshosts/<host>, clientcert.pem. Empty:
	// none are consulted.
	ControlDir string

	// Table is the policy table (tls.policy), keyed by a domain, ".domain"
	// for its subdomains, or an MX host name. Keys are not case-sensitive.
	Table map[string]Rule

	Default       Level          // tls.default_level; zero means May
	MinVersion    uint16         // tls.min_version; zero means TLS 1.2
	ClientCert    string         // "" = ControlDir/clientcert.pem
	ClientCiphers []uint16       // from control/tlsclientciphers; nil = Go's defaults
	RootCAs       *x509.CertPool // for verify and secure without a cafile, and MTA-STS; nil = the system's
	Now           func() time.Time
	Logger        *slog.Logger
}

// Engine decides what TLS each delivery gets. It reads the qmail-tls files
// at every decision, so a new tlshosts pem applies without a reload, as
// with qmail-remote; it is safe for concurrent use.
type Engine struct {
	o      Options
	table  map[string]Rule
	pools  certfile.PoolCache
	client *certfile.Reloader
}

// New checks the options and returns an Engine.
func New(o Options) (*Engine, error) {
	if o.Default == 0 {
		o.Default = May
	}
	if o.Default < None || o.Default > Fingerprint {
		return nil, fmt.Errorf("tls.default_level: invalid level %d", int(o.Default))
	}
	if o.Default == Fingerprint {
		return nil, errors.New("tls.default_level: fingerprint needs pins, so it can only be set per destination")
	}
	if o.MinVersion == 0 {
		o.MinVersion = tls.VersionTLS12
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{o: o, table: make(map[string]Rule, len(o.Table))}
	for k, r := range o.Table {
		key := normaliseName(k)
		if key == "" || key == "." {
			return nil, fmt.Errorf("tls.policy: empty key %q", k)
		}
		if r.Level < None || r.Level > Fingerprint {
			return nil, fmt.Errorf("tls.policy.%s: invalid level %d", k, int(r.Level))
		}
		if r.Level == Fingerprint && len(r.Pins) == 0 {
			return nil, fmt.Errorf("tls.policy.%s: fingerprint needs at least one pin", k)
		}
		if _, dup := e.table[key]; dup {
			return nil, fmt.Errorf("tls.policy.%s: the key appears twice", k)
		}
		e.table[key] = r
	}
	path := o.ClientCert
	if path == "" && o.ControlDir != "" {
		path = filepath.Join(o.ControlDir, "clientcert.pem")
	}
	if path != "" {
		e.client = certfile.NewReloader(path, o.Logger.With("role", "client certificate"))
	}
	return e, nil
}

// Input describes one delivery attempt to one MX host.
type Input struct {
	Domain   string // the recipient domain (next hop)
	Host     string // the MX host name, the domain itself without MX, the relay when Routed; "" for an IP literal
	Routed   bool   // smtproutes relay: Host is the relay and is also the next hop
	TLSABase string // the TLSA base domain when it differs from Host (a secure CNAME); "" = Host

	TLSA       []dane.TLSA // TLSA records of _25._tcp.<Host>, looked up by the caller
	TLSASecure bool        // the TLSA answer was DNSSEC-validated; records are ignored otherwise
	TLSAErr    error       // the TLSA lookup failed (SERVFAIL, timeout, bogus): DANE cannot be decided

	STS *STS // the MTA-STS policy of Domain, if any
}

// Decide returns the TLS policy for one delivery attempt. The sources are
// tried in this order, the first that applies deciding (see the package
// documentation): tlshosts/<host>.pem, notlshosts/<host>, the table entry
// for the MX host, the table entry for the domain (exact, then ".parent"),
// tlshosts/exhaustivelist, DANE, MTA-STS, the default level.
//
// An error, always a *Failure, means the attempt must be deferred before
// connecting: a tlshosts pem or cafile that does not load, a TLSA lookup
// that failed where DANE would decide, dane-only without usable TLSA
// records, an MX host an enforced MTA-STS policy does not list. The
// Decision returned with it still names the level and source.
func (e *Engine) Decide(in Input) (Decision, error) {
	files := e.o.ControlDir != "" && fileKey(in.Host)

	// qmail-tls's files, keyed by the MX host name exactly as given
	// (qmail-tls qmail-remote.c tls_init()): the pem first, then notlshosts.
	if files {
		pem := filepath.Join(e.o.ControlDir, "tlshosts", in.Host+".pem")
		// A pem that exists but cannot be statted defers rather than
		// silently dropping the TLS requirement.
		if _, err := os.Stat(pem); err == nil || !absent(err) {
			d := e.base(in, Verify, "tlshosts/"+in.Host+".pem", kindQmail)
			d.Rule.CAFile = pem
			pool, err := e.pools.Load(pem)
			if err != nil {
				return d, &Failure{Text: textLoad("control/tlshosts/"+in.Host+".pem", err), Err: err}
			}
			d.roots = pool
			d.names = []string{in.Host}
			return d, nil
		}
		if exists(filepath.Join(e.o.ControlDir, "notlshosts", in.Host)) {
			return e.base(in, None, "notlshosts/"+in.Host, kindNone), nil
		}
	}

	if r, key, ok := e.lookup(in); ok {
		return e.fromRule(in, r, "table:"+key)
	}

	// qmail-tls qmail-remote.c tls_init(): exhaustivelist turns TLS off for every host
	// without a pem (IP literals excepted: no file is consulted for them).
	if files && exists(filepath.Join(e.o.ControlDir, "tlshosts", "exhaustivelist")) {
		return e.base(in, None, "exhaustivelist", kindNone), nil
	}

	// DANE before MTA-STS, as KumoMTA and maddy order them (KumoMTA
	// enable_dane, maddy target.remote; RFC 8461 §2 leaves the order to the sender). A failed
	// lookup cannot tell whether DANE applies, so the MX is unusable for
	// now (RFC 7672 §2.2).
	if in.TLSAErr != nil {
		d := e.base(in, Dane, "dane", kindNone)
		return d, e.tlsaFailure(in)
	}
	if in.TLSASecure && len(in.TLSA) > 0 {
		only := e.o.Default == DaneOnly
		if only {
			return e.resolveDane(e.base(in, DaneOnly, "dane", kindNone), in, true)
		}
		if len(dane.Usable(in.TLSA)) > 0 {
			return e.resolveDane(e.base(in, Dane, "dane", kindNone), in, false)
		}
		// Records that are all unusable mean mandatory unauthenticated
		// TLS where DANE is the policy in force (RFC 7672 §2.2, §3.1.3),
		// and nothing more: DANE may raise the level, never lower it, so a
		// stricter MTA-STS policy or default level keeps its checks.
		d, err := e.afterDane(in)
		if err != nil || (d.kind != kindNone && !d.Testing) {
			d.Unusable = in.TLSA
			return d, err
		}
		d = e.base(in, Encrypt, "dane", kindNone)
		d.Rule.Level = Dane
		d.Unusable = in.TLSA
		return d, nil
	}
	return e.afterDane(in)
}

// afterDane is Decide's last two sources: MTA-STS, then the default level.
func (e *Engine) afterDane(in Input) (Decision, error) {
	if in.STS != nil && !in.Routed {
		switch in.STS.Mode {
		case "enforce":
			d := e.stsDecision(in)
			if !in.STS.Allows(in.Host) {
				return d, &Failure{Text: textSTSMismatch(in.Host, in.Domain)}
			}
			return d, nil
		case "testing":
			// RFC 8461 §5: deliver as without a policy, report what would
			// have failed. Only when the default would be opportunistic
			// anyway: a stricter local default stays in force.
			if e.o.Default == May || e.o.Default == Dane {
				d := e.stsDecision(in)
				d.Testing = true
				if !in.STS.Allows(in.Host) {
					d.Warning = textSTSMismatch(in.Host, in.Domain)
				}
				return d, nil
			}
		}
	}

	return e.fromRule(in, Rule{Level: e.o.Default}, "default")
}

// lookup finds the table entry for the MX host, then for the next hop:
// the domain itself, then ".parent" entries from the nearest up. Under a
// route the next hop is the relay, as in Postfix's policy table.
func (e *Engine) lookup(in Input) (Rule, string, bool) {
	if len(e.table) == 0 {
		return Rule{}, "", false
	}
	if h := normaliseName(in.Host); h != "" {
		if r, ok := e.table[h]; ok {
			return r, h, true
		}
	}
	next := normaliseName(nextHop(in))
	if next == "" {
		return Rule{}, "", false
	}
	if r, ok := e.table[next]; ok {
		return r, next, true
	}
	for i := strings.IndexByte(next, '.'); i >= 0; {
		key := next[i:]
		if r, ok := e.table[key]; ok {
			return r, key, true
		}
		j := strings.IndexByte(key[1:], '.')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return Rule{}, "", false
}

// fromRule turns a table entry or the default level into a Decision.
func (e *Engine) fromRule(in Input, r Rule, source string) (Decision, error) {
	d := e.base(in, r.Level, source, kindNone)
	d.Rule = r
	e.fill(&d)
	switch r.Level {
	case Verify, Secure:
		d.kind = kindPKIX
		d.roots = e.o.RootCAs
		if r.CAFile != "" {
			pool, err := e.pools.Load(r.CAFile)
			if err != nil {
				return d, &Failure{Text: textLoad(r.CAFile, err), Err: err}
			}
			d.roots = pool
		}
		match := r.Match
		if len(match) == 0 && r.Level == Verify {
			match = []string{"hostname"}
		} else if len(match) == 0 {
			match = []string{"nexthop", "dot-nexthop"}
		}
		d.names, d.suffixes = resolveMatch(match, in)
	case Fingerprint:
		d.kind = kindPins
	case Dane, DaneOnly:
		if in.TLSAErr != nil {
			return d, e.tlsaFailure(in)
		}
		return e.resolveDane(d, in, r.Level == DaneOnly)
	}
	return d, nil
}

// resolveDane settles dane and dane-only from the TLSA records (RFC 7672
// §2.2; Postfix's dane level, smtp_tls_security_level): usable records → Dane,
// verified by them; records but none usable → Encrypt, or a Failure under
// dane-only (Postfix: "TLSA records unusable"); no secure records → May,
// or a Failure under dane-only.
func (e *Engine) resolveDane(d Decision, in Input, only bool) (Decision, error) {
	e.fill(&d)
	if !in.TLSASecure || len(in.TLSA) == 0 {
		if only {
			return d, &Failure{Text: textDaneOnlyNone(e.tlsaBase(in))}
		}
		d.Level = May
		return d, nil
	}
	usable := dane.Usable(in.TLSA)
	d.Unusable = dane.Unusable(in.TLSA)
	if len(usable) == 0 {
		if only {
			return d, &Failure{Text: textDaneOnlyUnusable(e.tlsaBase(in))}
		}
		d.Level = Encrypt
		return d, nil
	}
	d.Level = Dane
	d.kind = kindDANE
	d.TLSA = usable
	// RFC 7672 §3.2.2: the TLSA base domain and the next-hop domain.
	d.names = dedupe([]string{e.tlsaBase(in), in.Host, nextHop(in)})
	return d, nil
}

// stsDecision is the decision under an MTA-STS policy (RFC 8461 §4.2): a
// certificate valid for the MX host name, from the engine's roots.
func (e *Engine) stsDecision(in Input) Decision {
	d := e.base(in, Verify, "mta-sts", kindSTS)
	e.fill(&d)
	d.roots = e.o.RootCAs
	d.names = dedupe([]string{in.Host})
	return d
}

// base returns a Decision with the engine's settings.
func (e *Engine) base(in Input, l Level, source string, k kind) Decision {
	d := Decision{
		Level: l, Source: source, Host: in.Host, Domain: in.Domain,
		Rule: Rule{Level: l},
		kind: k, now: e.o.Now, client: e.client, general: e.o.RootCAs,
	}
	e.fill(&d)
	return d
}

// fill puts the engine's minimum version and ciphers into a rule that has
// none.
func (e *Engine) fill(d *Decision) {
	if d.Rule.MinVersion == 0 {
		d.Rule.MinVersion = e.o.MinVersion
	}
	if d.Rule.Ciphers == nil {
		d.Rule.Ciphers = e.o.ClientCiphers
	}
}

// tlsaBase returns the TLSA base domain.
func (e *Engine) tlsaBase(in Input) string {
	if in.TLSABase != "" {
		return in.TLSABase
	}
	return in.Host
}

// nextHop is the next-hop domain: the recipient domain, or the relay
// under a route.
func nextHop(in Input) string {
	if in.Routed {
		return in.Host
	}
	return in.Domain
}

// resolveMatch turns match= entries into names the certificate may be
// valid for and domains it may be any subdomain of.
func resolveMatch(match []string, in Input) (names, suffixes []string) {
	add := func(list *[]string, n string) {
		if n = normaliseName(n); n != "" {
			*list = append(*list, n)
		}
	}
	for _, m := range match {
		switch {
		case m == "hostname":
			add(&names, in.Host)
		case m == "nexthop":
			add(&names, nextHop(in))
		case m == "dot-nexthop":
			add(&suffixes, nextHop(in))
		case strings.HasPrefix(m, "."):
			add(&suffixes, m[1:])
		default:
			add(&names, m)
		}
	}
	return dedupe(names), dedupe(suffixes)
}

// fileKey reports whether host may name a qmail-tls file: not empty, not
// an IP literal (qmail-tls consults no file then, qmail-remote.c tls_init()),
// and nothing that would leave the directory.
func fileKey(host string) bool {
	if host == "" || strings.ContainsAny(host, "/\x00") || host == "." || host == ".." {
		return false
	}
	return net.ParseIP(strings.Trim(host, "[]")) == nil
}

// absent reports whether a stat error means there is no such file.
func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// exists reports whether a file exists, as qmail-remote's stat() == 0.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// normaliseName lowercases a domain name and drops a trailing dot.
func normaliseName(s string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
}

// dedupe drops empty and repeated names (after normalising), keeping order.
func dedupe(names []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		k := normaliseName(n)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, n)
	}
	return out
}

// tlsaFailure is the deferral of a failed TLSA lookup (RFC 7672 §2.1.1).
func (e *Engine) tlsaFailure(in Input) error {
	return &Failure{Text: textTLSALookup(e.tlsaBase(in), in.TLSAErr), Err: in.TLSAErr}
}
