package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// TLSRule is one entry of tls.policy: the TLS a destination (a recipient
// domain, ".domain" for its subdomains, or an MX host name) gets. The
// vocabulary is Postfix's smtp_tls_policy_maps (postconf(5),
// TLS_README); package
// tls/policy compiles it.
type TLSRule struct {
	Destination string     `json:"destination"`
	Level       TLSLevel   `json:"level"`                 // none, may, encrypt, verify, secure, dane, dane-only, fingerprint
	CAFile      string     `json:"ca_file,omitempty"`     // CA certificates for verify and secure
	MinVersion  TLSVersion `json:"min_version,omitempty"` // 1.0 to 1.3
	Ciphers     string     `json:"ciphers,omitempty"`     // an OpenSSL cipher string
	ServerName  string     `json:"servername,omitempty"`  // SNI name, and the name verified when Match is empty
	Match       []string   `json:"match,omitempty"`       // names the certificate may carry
	Pins        []string   `json:"fingerprints,omitempty"`
}

var errTLSPolicyText = errRecordsText("tls.policy", "{destination, level, ca_file, min_version, ciphers, servername, match, fingerprints}")

// tlsRuleFields are the fields of a tls.policy entry r.
func tlsRuleFields(r *TLSRule) fields {
	return fields{what: "tls.policy",
		scalars: map[string]*string{"destination": &r.Destination, "level": (*string)(&r.Level), "ca_file": &r.CAFile,
			"min_version": (*string)(&r.MinVersion), "ciphers": &r.Ciphers, "servername": &r.ServerName},
		lists: map[string]*[]string{"match": &r.Match, "fingerprints": &r.Pins}}
}

var tlsRuleOrder = []string{"destination", "level", "ca_file", "min_version", "ciphers", "servername", "match", "fingerprints"}

// tlsRuleYAML parses one entry of tls.policy; destinations compare
// without case (RFC 5321 §2.4).
func tlsRuleYAML(n *yaml.Node) (TLSRule, error) {
	var r TLSRule
	if err := tlsRuleFields(&r).decode(n); err != nil {
		return TLSRule{}, err
	}
	r.Destination = strings.ToLower(r.Destination)
	return r, nil
}

// checkTLSRules checks the entries of tls.policy as far as configuration
// can: files and cipher strings are checked when the policy is compiled,
// which also happens before the daemon touches the queue.
func checkTLSRules(rs []TLSRule) error {
	seen := map[string]bool{}
	for _, r := range rs {
		for _, s := range append(append([]string{r.Destination, string(r.Level), r.CAFile, string(r.MinVersion), r.Ciphers, r.ServerName}, r.Match...), r.Pins...) {
			if err := checkText(s); err != nil {
				return err
			}
		}
		switch {
		case r.Destination == "":
			return errors.New("tls.policy entry without a destination")
		case seen[r.Destination]:
			return fmt.Errorf("destination %s: listed twice", r.Destination)
		case !slices.Contains(tlsLevels, r.Level):
			return fmt.Errorf("destination %s: level %q is not one of %s", r.Destination, r.Level, strings.Join(words(tlsLevels), ", "))
		case r.MinVersion != "" && !slices.Contains(tlsVersions, r.MinVersion):
			return fmt.Errorf("destination %s: min_version %q is not one of %s", r.Destination, r.MinVersion, strings.Join(words(tlsVersions), ", "))
		case r.Level == TLSLevelFingerprint && len(r.Pins) == 0:
			return fmt.Errorf("destination %s: level fingerprint needs fingerprints", r.Destination)
		}
		seen[r.Destination] = true
	}
	return nil
}

// tlsRulesNode writes tls.policy as a YAML flow sequence.
func tlsRulesNode(rs []TLSRule) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for i := range rs {
		n.Content = append(n.Content, tlsRuleFields(&rs[i]).node(tlsRuleOrder...))
	}
	return n
}
