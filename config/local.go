package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// errLocalDomainsText: local.domains is a list of mappings, which the
// environment and --set syntax cannot write.
var errLocalDomainsText = errRecordsText("local.domains", "{domain, transport, maildir, lmtp, command, user}")

// checkLMTP checks an LMTP server address: "unix:" and an absolute socket
// path, or host:port.
func checkLMTP(s string) error {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if !filepath.IsAbs(path) {
			return fmt.Errorf("LMTP socket %q is not an absolute path", path)
		}
		return nil
	}
	if err := checkHostPort(s, true, 1); err != nil {
		return fmt.Errorf("LMTP address (want unix:/path or host:port): %w", err)
	}
	return nil
}

// checkLocalDomains checks the entries of local.domains.
func checkLocalDomains(ds []LocalDomain) error {
	seen := map[string]bool{}
	for _, d := range ds {
		for _, s := range append([]string{d.Domain, string(d.Transport), d.Maildir, d.LMTP, d.User}, d.Command...) {
			if err := checkText(s); err != nil {
				return err
			}
		}
		if d.Domain == "" {
			return errors.New("local.domains entry without a domain")
		}
		if seen[d.Domain] {
			return fmt.Errorf("domain %s: listed twice", d.Domain)
		}
		seen[d.Domain] = true
		if err := checkMethod("domain "+d.Domain, d.Transport, d.LMTP, d.Command); err != nil {
			return err
		}
	}
	return nil
}

// checkMethod checks that a transport is known and has what it needs.
func checkMethod(what string, transport LocalTransport, lmtp string, command []string) error {
	switch {
	case !slices.Contains(localTransports, transport):
		return fmt.Errorf("%s: transport %q is not one of %s", what, transport, strings.Join(words(localTransports), ", "))
	case transport == TransportLMTP && lmtp == "":
		return fmt.Errorf("%s: transport lmtp needs an lmtp address", what)
	case transport == TransportCommand && (len(command) == 0 || command[0] == ""):
		return fmt.Errorf("%s: transport command needs a command", what)
	case lmtp != "":
		return checkLMTP(lmtp)
	}
	return nil
}

// checkLocal checks the local.* keys against each other, once each has
// parsed, and fills the Maildir and User of local.domains entries that
// leave them out with local.maildir and local.user.
func checkLocal(c *Config, failed map[string]bool) []error {
	for _, k := range []string{"local.transport", "local.maildir", "local.lmtp", "local.command", "local.domains"} {
		if failed[k] {
			return nil
		}
	}
	var errs []error
	if err := checkMethod("local.transport", c.LocalTransport, c.LocalLMTP, c.LocalCommand); err != nil {
		errs = append(errs, fmt.Errorf("%s (set by %s)", err, c.origin("local.transport")))
	}
	for i := range c.LocalDomains {
		if c.LocalDomains[i].Maildir == "" {
			c.LocalDomains[i].Maildir = c.LocalMaildir
		}
		if c.LocalDomains[i].User == "" {
			c.LocalDomains[i].User = c.LocalUser
		}
	}
	return errs
}

// localDomainFields are the fields of a local.domains entry d.
func localDomainFields(d *LocalDomain) fields {
	return fields{what: "local.domains",
		scalars: map[string]*string{"domain": &d.Domain, "transport": (*string)(&d.Transport), "maildir": &d.Maildir, "lmtp": &d.LMTP, "user": &d.User},
		lists:   map[string]*[]string{"command": &d.Command}}
}

// localDomainYAML parses one entry of local.domains; transport defaults to
// maildir, and the domain is lower-cased (domains compare without case,
// RFC 5321 §2.4).
func localDomainYAML(n *yaml.Node) (LocalDomain, error) {
	d := LocalDomain{Transport: TransportMaildir}
	if err := localDomainFields(&d).decode(n); err != nil {
		return LocalDomain{}, err
	}
	if d.Domain == "" {
		return LocalDomain{}, errors.New("local.domains entry without a domain")
	}
	d.Domain = strings.ToLower(d.Domain)
	return d, nil
}

// localDomainsNode writes local.domains as a YAML flow sequence.
func localDomainsNode(ds []LocalDomain) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for i := range ds {
		n.Content = append(n.Content, localDomainFields(&ds[i]).node("domain", "transport", "maildir", "lmtp", "user", "command"))
	}
	return n
}
