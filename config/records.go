package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fields are the named fields of one entry of a list-of-mappings key
// (local.domains, tls.policy): each is a single value or a list of them.
type fields struct {
	what    string // the key, for errors
	scalars map[string]*string
	lists   map[string]*[]string
}

// names lists the fields, for "unknown field" errors.
func (f fields) names() string {
	var ns []string
	for n := range f.scalars {
		ns = append(ns, n)
	}
	for n := range f.lists {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return strings.Join(ns, ", ")
}

// decode fills the fields from the YAML mapping n; a field given twice, an
// unknown field and a value of the wrong shape are errors naming the key
// and the field.
func (f fields) decode(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("want a mapping with the fields %s", f.names())
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), resolve(n.Content[i+1])
		name := kn.Value
		if seen[name] {
			return fmt.Errorf("%s field %s given twice", f.what, name)
		}
		seen[name] = true
		if p, ok := f.lists[name]; ok {
			items, err := sequence(vn)
			if err != nil {
				return fmt.Errorf("%s field %s: %w", f.what, name, err)
			}
			for _, item := range items {
				s, err := scalar(item)
				if err != nil {
					return fmt.Errorf("%s field %s: %w", f.what, name, err)
				}
				*p = append(*p, s)
			}
			continue
		}
		p, ok := f.scalars[name]
		if !ok {
			return fmt.Errorf("unknown %s field %q (want %s)", f.what, name, f.names())
		}
		s, err := scalar(vn)
		if err != nil {
			return fmt.Errorf("%s field %s: %w", f.what, name, err)
		}
		*p = s
	}
	return nil
}

// node writes the fields that are set as a YAML flow mapping, in the
// order of order.
func (f fields) node(order ...string) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	for _, name := range order {
		if p, ok := f.scalars[name]; ok && *p != "" {
			m.Content = append(m.Content, str(name), str(*p))
		}
		if p, ok := f.lists[name]; ok && *p != nil {
			l := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, s := range *p {
				l.Content = append(l.Content, str(s))
			}
			m.Content = append(m.Content, str(name), l)
		}
	}
	return m
}

// errRecordsText is the error for a list-of-mappings key given in the
// environment or with --set, whose syntax cannot write it.
func errRecordsText(key, shape string) error {
	return errors.New(key + " cannot be set in the environment or with --set; write it in the config file as a list of " + shape)
}
