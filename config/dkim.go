package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DKIMKey is one entry of dkim.keys: a signing domain, the selector its
// public key is published under, and the private key file.
type DKIMKey struct {
	Domain   string `json:"domain"`
	Selector string `json:"selector"`
	Key      string `json:"key"`
}

// errDKIMKeysText: dkim.keys is a list of mappings, which the environment
// and --set cannot write.
var errDKIMKeysText = errRecordsText("dkim.keys", "{domain, selector, key}")

func dkimKeyFields(k *DKIMKey) fields {
	return fields{what: "dkim.keys",
		scalars: map[string]*string{"domain": &k.Domain, "selector": &k.Selector, "key": &k.Key}}
}

// dkimKeyYAML parses one entry of dkim.keys; the domain is lower-cased.
func dkimKeyYAML(n *yaml.Node) (DKIMKey, error) {
	var k DKIMKey
	if err := dkimKeyFields(&k).decode(n); err != nil {
		return DKIMKey{}, err
	}
	k.Domain = strings.ToLower(k.Domain)
	return k, nil
}

// checkDKIMKeys checks the entries of dkim.keys: every field is given, the
// key file's path is absolute, and no domain and selector is listed twice.
// The key files themselves are read by the signer's builder (setup).
func checkDKIMKeys(ks []DKIMKey) error {
	seen := map[string]bool{}
	for _, k := range ks {
		if k.Domain == "" || k.Selector == "" || k.Key == "" {
			return errors.New("dkim.keys entry without a domain, selector or key")
		}
		for _, s := range []string{k.Domain, k.Selector, k.Key} {
			if err := checkText(s); err != nil {
				return err
			}
		}
		if !filepath.IsAbs(k.Key) {
			return fmt.Errorf("dkim.keys %s: key %q is not an absolute path", k.Domain, k.Key)
		}
		id := k.Domain + " " + k.Selector
		if seen[id] {
			return fmt.Errorf("dkim.keys: %s selector %s listed twice", k.Domain, k.Selector)
		}
		seen[id] = true
	}
	return nil
}

// dkimKeysNode writes dkim.keys as a YAML flow sequence.
func dkimKeysNode(ks []DKIMKey) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for i := range ks {
		n.Content = append(n.Content, dkimKeyFields(&ks[i]).node("domain", "selector", "key"))
	}
	return n
}
