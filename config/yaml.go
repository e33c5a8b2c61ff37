package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The file is read into a go.yaml.in/yaml/v3 node tree rather than through
// viper: only the node tree has the line numbers that every error and every
// provenance entry names, and viper folds key case and ignores unknown keys.

// setting is one parsed value for a key from one source.
type setting struct {
	val    any
	origin string // provenance: "config file /etc/qsend/qsend.yaml:12"
	where  string // error prefix: "/etc/qsend/qsend.yaml: line 12: key me"
	failed bool   // the source set the key but its value is wrong
}

// yamlLayer parses the config file's contents. Every problem found is
// returned, each naming path and line; the settings hold the keys that
// parsed.
func yamlLayer(path string, data []byte) (map[string]setting, []error) {
	l := &yamlLoader{path: path, out: map[string]setting{}, seen: map[string]int{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return l.out, nil // an empty file sets nothing
		}
		return nil, []error{l.syntaxError(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, []error{l.syntaxError(err)}
		}
		return nil, []error{fmt.Errorf("%s: line %d: a second YAML document; the file must hold one", path, extra.Line)}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	root = resolve(root)
	switch {
	case root.Kind == yaml.ScalarNode && root.Tag == "!!null":
		return l.out, nil // a document of only "~" or "---" sets nothing
	case root.Kind != yaml.MappingNode:
		return nil, []error{fmt.Errorf("%s: line %d: want a mapping of keys to values", path, root.Line)}
	}
	l.walk(root, "")
	return l.out, l.errs
}

type yamlLoader struct {
	path string
	out  map[string]setting
	seen map[string]int // key → line where it was set
	errs []error
}

// syntaxError names the file in the YAML library's error, which reads
// "yaml: line 7: did not find expected key".
func (l *yamlLoader) syntaxError(err error) error {
	return fmt.Errorf("%s: %s", l.path, strings.TrimPrefix(err.Error(), "yaml: "))
}

func (l *yamlLoader) errorf(line int, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s: line %d: %s", l.path, line, fmt.Sprintf(format, args...)))
}

// walk visits the mapping n whose keys are below prefix ("" or "log.").
func (l *yamlLoader) walk(n *yaml.Node, prefix string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), resolve(n.Content[i+1])
		if kn.Kind != yaml.ScalarNode {
			l.errorf(kn.Line, "a key must be a plain name")
			continue
		}
		// A dotted key is written nested; "log.format:" at the top is
		// not log.format.
		name := prefix + kn.Value
		if strings.Contains(kn.Value, ".") {
			l.errorf(kn.Line, "unknown key %s", name)
			continue
		}
		if line, dup := l.seen[name]; dup {
			l.errorf(kn.Line, "key %s: already set at line %d", name, line)
			continue
		}
		l.seen[name] = kn.Line
		if k, ok := keyByName(name); ok {
			v, line, err := k.parseYAML(vn)
			if err != nil {
				l.errorf(line, "key %s: %v", name, err)
				l.out[name] = setting{failed: true}
				continue
			}
			l.out[name] = setting{
				val:    v,
				origin: fmt.Sprintf("config file %s:%d", l.path, kn.Line),
				where:  fmt.Sprintf("%s: line %d: key %s", l.path, kn.Line, name),
			}
			continue
		}
		if !isSection(name) {
			l.errorf(kn.Line, "unknown key %s", name)
			continue
		}
		if vn.Kind != yaml.MappingNode {
			l.errorf(vn.Line, "key %s: want a mapping of keys below %s", name, name)
			continue
		}
		l.walk(vn, name+".")
	}
}

// isSection reports whether name is the first part of some dotted key.
func isSection(name string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k.name, name+".") {
			return true
		}
	}
	return false
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// scalar returns the text of a scalar node, or an error naming what it is.
func scalar(n *yaml.Node) (string, error) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return "", errNoValue
	case n.Kind == yaml.ScalarNode:
		return n.Value, nil
	case n.Kind == yaml.SequenceNode:
		return "", errors.New("want a single value, not a list")
	case n.Kind == yaml.MappingNode:
		return "", errors.New("want a single value, not a mapping")
	}
	return "", errors.New("want a single value")
}

// parseYAML parses and checks the value node n. On error it returns the
// line at fault, which for a list is the line of the bad entry.
func (k *keyDef) parseYAML(n *yaml.Node) (v any, line int, err error) {
	switch k.kind {
	case kList, kAddrList:
		items, err := sequence(n)
		if err != nil {
			return nil, n.Line, err
		}
		list := make([]string, 0, len(items))
		for _, item := range items {
			s, err := scalar(item)
			if err == nil {
				err = k.check([]string{s})
			}
			if err != nil {
				return nil, item.Line, err
			}
			list = append(list, s)
		}
		return list, n.Line, nil
	case kListeners:
		return records(k, n, listenerYAML)
	case kLocalDomains:
		return records(k, n, localDomainYAML)
	case kTLSPolicy:
		return records(k, n, tlsRuleYAML)
	case kDKIMKeys:
		return records(k, n, dkimKeyYAML)
	}
	s, err := scalar(n)
	if err != nil {
		return nil, n.Line, err
	}
	v, err = k.parseText(s)
	return v, n.Line, err
}

// sequence returns the entries of a YAML list.
func sequence(n *yaml.Node) ([]*yaml.Node, error) {
	switch {
	case n.Kind == yaml.SequenceNode:
		items := make([]*yaml.Node, len(n.Content))
		for i, item := range n.Content {
			items[i] = resolve(item)
		}
		return items, nil
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil, errNoValue
	}
	return nil, errors.New("want a list ([a, b] or one \"- item\" per line)")
}

// listenerYAML parses one {address, mode} entry of smtpd.listen; mode
// defaults to smtp.
func listenerYAML(n *yaml.Node) (Listener, error) {
	if n.Kind != yaml.MappingNode {
		return Listener{}, errors.New("want a mapping {address: host:port, mode: smtp|submission|smtps}")
	}
	l := Listener{Mode: ModeSMTP}
	var haveAddr, haveMode bool
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), resolve(n.Content[i+1])
		s, err := scalar(vn)
		if err != nil {
			return Listener{}, fmt.Errorf("listener field %s: %w", kn.Value, err)
		}
		switch {
		case kn.Value == "address" && !haveAddr:
			l.Address, haveAddr = s, true
		case kn.Value == "mode" && !haveMode:
			l.Mode, haveMode = ListenerMode(s), true
		case kn.Value == "address" || kn.Value == "mode":
			return Listener{}, fmt.Errorf("listener field %s given twice", kn.Value)
		default:
			return Listener{}, fmt.Errorf("unknown listener field %q (want address and mode)", kn.Value)
		}
	}
	if !haveAddr {
		return Listener{}, errors.New("listener without address")
	}
	return l, nil
}

// records parses a list-of-mappings key whose entries decode parses.
// Each entry is checked with the list so far, so that an entry listed
// twice is named on the second one's line.
func records[T any](k *keyDef, n *yaml.Node, decode func(*yaml.Node) (T, error)) (any, int, error) {
	items, err := sequence(n)
	if err != nil {
		return nil, n.Line, err
	}
	list := make([]T, 0, len(items))
	for _, item := range items {
		v, err := decode(item)
		if err == nil {
			err = k.check(append(list, v))
		}
		if err != nil {
			return nil, item.Line, err
		}
		list = append(list, v)
	}
	return list, n.Line, nil
}
