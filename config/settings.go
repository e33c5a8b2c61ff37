package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Setting is one effective value, as `qsend config` shows it.
type Setting struct {
	Key    string // YAML key: "concurrencyremote", "log.format"
	Value  string // the value as it would be written in YAML
	Origin string // "default", "control file /var/qmail/control/me:1", ...
}

// Settings returns every key's value and origin, sorted by key.
func (c *Config) Settings() []Setting {
	out := make([]Setting, len(keys))
	for i, k := range sortedKeys() {
		out[i] = Setting{Key: k.name, Value: formatValue(k.get(c)), Origin: c.origin(k.name)}
	}
	return out
}

// sortedKeys returns the key table sorted by name.
func sortedKeys() []*keyDef {
	ks := make([]*keyDef, len(keys))
	for i := range keys {
		ks[i] = &keys[i]
	}
	slices.SortFunc(ks, func(a, b *keyDef) int { return strings.Compare(a.name, b.name) })
	return ks
}

// origin is Origin for a Config built by hand rather than by Load.
func (c *Config) origin(key string) string {
	if o := c.origins[key]; o != "" {
		return o
	}
	return "unknown"
}

// Origin returns where the value of key came from, "" for an unknown key.
func (c *Config) Origin(key string) string {
	return c.origins[key]
}

// maxAlign is the widest value that aligns the origin column; longer values
// (a long rcpthosts, say) are followed by the origin after three spaces.
const maxAlign = 40

// Write prints the settings as an aligned table of
//
//	key = value   # origin
//
// lines, or as one JSON object per line ({"key", "value", "origin"}, with
// lists and numbers as JSON arrays and numbers) when json is true.
func (c *Config) Write(w io.Writer, json bool) error {
	if json {
		return c.writeJSON(w)
	}
	settings := c.Settings()
	keyW, valW := 0, 0
	for _, s := range settings {
		keyW = max(keyW, len(s.Key))
		if len(s.Value) <= maxAlign {
			valW = max(valW, len(s.Value))
		}
	}
	var b strings.Builder
	for _, s := range settings {
		fmt.Fprintf(&b, "%-*s = %-*s   # %s\n", keyW, s.Key, valW, s.Value, s.Origin)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (c *Config) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, k := range sortedKeys() {
		err := enc.Encode(struct {
			Key    string `json:"key"`
			Value  any    `json:"value"`
			Origin string `json:"origin"`
		}{k.name, jsonValue(k.get(c)), c.origin(k.name)})
		if err != nil {
			return err
		}
	}
	return nil
}

// Diff returns the keys whose values differ between old and c, sorted; a
// nil old differs in every key. Origins do not count: a value that moved
// from the control file to the YAML file unchanged is not a change.
func (c *Config) Diff(old *Config) []string {
	var changed []string
	var prev []Setting
	if old != nil {
		prev = old.Settings()
	}
	for i, s := range c.Settings() {
		if prev == nil || prev[i].Value != s.Value {
			changed = append(changed, s.Key)
		}
	}
	return changed
}

// formatValue writes a parsed value in YAML: a plain or quoted scalar, or
// a flow sequence ("[a, b]", "[{address: 127.0.0.1:2525, mode: smtp}]"). An
// absent list is written as nothing, as "key:" in YAML.
func formatValue(v any) string {
	var n *yaml.Node
	switch v := v.(type) {
	case string:
		n = str(v)
	case []string:
		if v == nil {
			return ""
		}
		n = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, s := range v {
			n.Content = append(n.Content, str(s))
		}
	case bool:
		return onOff(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case time.Duration:
		return formatDuration(v)
	case slog.Level:
		return strings.ToLower(v.String())
	case []Listener:
		n = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, l := range v {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle,
				Content: []*yaml.Node{str("address"), str(l.Address), str("mode"), str(string(l.Mode))}})
		}
	case []LocalDomain:
		n = localDomainsNode(v)
	case []TLSRule:
		n = tlsRulesNode(v)
	case []DKIMKey:
		n = dkimKeysNode(v)
	default:
		return fmt.Sprint(v)
	}
	out, err := yaml.Marshal(n)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// str is a string scalar node; the encoder quotes it where YAML needs.
func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// jsonValue is v for JSON output: durations and levels as their text.
func jsonValue(v any) any {
	switch v := v.(type) {
	case time.Duration:
		return formatDuration(v)
	case slog.Level:
		return strings.ToLower(v.String())
	case bool:
		return onOff(v)
	}
	return v
}
