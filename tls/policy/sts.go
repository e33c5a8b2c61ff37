package policy

import "strings"

// STS is the part of a domain's MTA-STS policy (RFC 8461 §3.2) a delivery
// decision needs.
type STS struct {
	Mode string   // "enforce", "testing" or "none"
	MX   []string // the policy's mx patterns: host names or "*.domain"
}

// Allows reports whether an MX host matches one of the policy's mx
// patterns (RFC 8461 §4.1): equal, or "*." standing for exactly one
// leftmost label. Case and a trailing dot do not matter.
func (s *STS) Allows(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	for _, p := range s.MX {
		p = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(p), "."))
		if p == host {
			return true
		}
		if rest, ok := strings.CutPrefix(p, "*."); ok && rest != "" {
			if label, tail, ok := strings.Cut(host, "."); ok && label != "" && tail == rest {
				return true
			}
		}
	}
	return false
}
