package policy

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/qsend/qsend/tls/certfile"
	"github.com/qsend/qsend/tls/ciphers"
)

// Rule is one entry of the policy table (tls.policy.<key>), compiled.
type Rule struct {
	Level      Level
	CAFile     string   // verify, secure: the only CAs trusted ("" = the engine's roots)
	MinVersion uint16   // 0 = the engine's minimum
	Ciphers    []uint16 // nil = the engine's client ciphers
	ServerName string   // SNI name ("" = the MX host name)

	// Match lists the names the certificate may be for, under verify and
	// secure, as Postfix's match= does: "hostname" (the MX host name),
	// "nexthop" (the next-hop domain), "dot-nexthop" (any subdomain of
	// it), a name, or ".name" for any subdomain of name. Empty means
	// Postfix's defaults: "hostname" for verify
	// (smtp_tls_verify_cert_match), "nexthop" and "dot-nexthop" for secure
	// (smtp_tls_secure_cert_match).
	Match []string

	// Pins are the accepted fingerprints under fingerprint, normalised to
	// "sha256:<hex>" (the whole certificate, DER) or "spki-sha256:<hex>"
	// (its public key), lower case without colons.
	Pins []string
}

// RuleSpec is a table entry as configuration gives it.
type RuleSpec struct {
	Level      string   // a level name
	CAFile     string   // a PEM file of CAs
	MinVersion string   // "TLSv1.2" and the like
	Ciphers    string   // an OpenSSL cipher string
	ServerName string   // SNI name
	Match      []string // see Rule.Match
	Pins       []string // "sha256:<hex>" or "spki-sha256:<hex>"; hex may have colons
}

// CompileRule checks and compiles a table entry. key is the entry's key (a
// domain, ".domain" or an MX host name); errors name it:
// `tls.policy.example.com: unknown level "verfy" (...)`.
func CompileRule(key string, s RuleSpec) (Rule, error) {
	fail := func(format string, a ...any) (Rule, error) {
		return Rule{}, fmt.Errorf("tls.policy.%s: "+format, append([]any{key}, a...)...)
	}
	if strings.TrimSpace(s.Level) == "" {
		return fail("level is missing")
	}
	level, err := ParseLevel(s.Level)
	if err != nil {
		return fail("%w", err)
	}
	r := Rule{Level: level, CAFile: s.CAFile, ServerName: strings.TrimSpace(s.ServerName)}
	verifies := level == Verify || level == Secure
	if s.CAFile != "" {
		if !verifies {
			return fail("cafile applies to verify and secure only, not %s", level)
		}
		if _, err := certfile.LoadPool(s.CAFile); err != nil {
			return fail("cafile: %w", err)
		}
	}
	if s.MinVersion != "" {
		if r.MinVersion, err = ciphers.ParseVersion(s.MinVersion); err != nil {
			return fail("min_version: %w", err)
		}
	}
	if s.Ciphers != "" {
		if r.Ciphers, err = ciphers.Parse(s.Ciphers); err != nil {
			return fail("ciphers: %w", err)
		}
	}
	if strings.ContainsAny(r.ServerName, " \t/") {
		return fail("servername %q is not a host name", s.ServerName)
	}
	if len(s.Match) > 0 && !verifies {
		return fail("match applies to verify and secure only, not %s", level)
	}
	for _, m := range s.Match {
		m = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(m), "."))
		if m == "" || m == "." || strings.ContainsAny(m, " \t/:") {
			return fail("match: %q is not a name", m)
		}
		r.Match = append(r.Match, m)
	}
	if len(s.Pins) > 0 && level != Fingerprint {
		return fail("pins apply to fingerprint only, not %s", level)
	}
	if level == Fingerprint && len(s.Pins) == 0 {
		return fail("fingerprint needs at least one pin")
	}
	for _, p := range s.Pins {
		n, err := normalisePin(p)
		if err != nil {
			return fail("pins: %w", err)
		}
		r.Pins = append(r.Pins, n)
	}
	return r, nil
}

// normalisePin checks a pin and writes it in lower case without colons.
func normalisePin(p string) (string, error) {
	kind, digest, ok := strings.Cut(strings.TrimSpace(p), ":")
	kind = strings.ToLower(kind)
	if !ok || kind != "sha256" && kind != "spki-sha256" {
		return "", fmt.Errorf("%q: want sha256:<hex> or spki-sha256:<hex>", p)
	}
	digest = strings.ToLower(strings.ReplaceAll(digest, ":", ""))
	if b, err := hex.DecodeString(digest); err != nil || len(b) != 32 {
		return "", fmt.Errorf("%q: the digest must be 64 hex digits", p)
	}
	return kind + ":" + digest, nil
}
