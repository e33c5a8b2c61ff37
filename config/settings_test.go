package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

func TestKeyTable(t *testing.T) {
	seenEnv := map[string]string{}
	fields := map[uintptr]string{}
	var c Config
	base := uintptr(unsafe.Pointer(&c))
	for _, k := range keys {
		if other, dup := seenEnv[envName(k.name)]; dup {
			t.Errorf("keys %s and %s share %s", k.name, other, envName(k.name))
		}
		seenEnv[envName(k.name)] = k.name
		if k.def != "" || !(k.kind == kList || k.kind == kAddrList) {
			if k.name != "state_dir" && k.name != "me" && !k.me {
				if _, err := k.parseText(k.def); err != nil {
					t.Errorf("key %s: default %q: %v", k.name, k.def, err)
				}
			}
		}
		off := reflect.ValueOf(k.field(&c)).Pointer() - base
		if other, dup := fields[off]; dup {
			t.Errorf("keys %s and %s fill one field", k.name, other)
		}
		fields[off] = k.name
	}
	// Every field but File is filled by exactly one key.
	typ := reflect.TypeOf(c)
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() || f.Name == "File" {
			continue
		}
		if _, ok := fields[f.Offset]; !ok {
			t.Errorf("field %s has no key", f.Name)
		}
	}
}

func TestWrite(t *testing.T) {
	c, dir, err := fixture{
		control: map[string]string{"me": "mx.example\n", "rcpthosts": "a.example\nb.example\n"},
		yaml:    "concurrencyremote: 100\n",
		args:    []string{"--state-dir", "/srv/qsend"},
	}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Write(&b, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(keys) {
		t.Fatalf("%d lines for %d keys:\n%s", len(lines), len(keys), b.String())
	}
	// The name column is as wide as the longest key.
	width := 0
	for _, k := range keys {
		width = max(width, len(k.name))
	}
	pad := func(k, v string) string { return k + strings.Repeat(" ", width-len(k)) + " = " + v }
	want := map[string]string{
		"concurrencyremote": pad("concurrencyremote", "100"),
		"me":                pad("me", "mx.example"),
		"rcpthosts":         pad("rcpthosts", "[a.example, b.example]"),
		"state_dir":         pad("state_dir", "/srv/qsend"),
		"helohost":          pad("helohost", "mx.example"),
	}
	origins := map[string]string{
		"concurrencyremote": "config file " + dir + "/qsend.yaml:1",
		"me":                "control file " + dir + "/control/me:1",
		"rcpthosts":         "control file " + dir + "/control/rcpthosts",
		"state_dir":         "flag --state-dir",
		"helohost":          "default (me)",
	}
	col := -1
	var keysSeen []string
	for _, l := range lines {
		i := strings.Index(l, "   # ")
		if i < 0 {
			t.Fatalf("no origin in %q", l)
		}
		if len(l[:i]) <= width+3+maxAlign {
			if col >= 0 && i != col {
				t.Errorf("origin column %d, want %d: %q", i, col, l)
			}
			col = i
		}
		key := strings.Fields(l)[0]
		keysSeen = append(keysSeen, key)
		if w, ok := want[key]; ok {
			if got := strings.TrimRight(l[:i], " "); got != w {
				t.Errorf("line %q, want %q", got, w)
			}
			if got := l[i+5:]; got != origins[key] {
				t.Errorf("%s origin %q, want %q", key, got, origins[key])
			}
		}
	}
	if !slices.IsSorted(keysSeen) {
		t.Errorf("keys not sorted: %v", keysSeen)
	}

	b.Reset()
	if err := c.Write(&b, true); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&b)
	n := 0
	for dec.More() {
		var s struct {
			Key    string `json:"key"`
			Value  any    `json:"value"`
			Origin string `json:"origin"`
		}
		if err := dec.Decode(&s); err != nil {
			t.Fatal(err)
		}
		n++
		switch s.Key {
		case "concurrencyremote":
			if s.Value != float64(100) {
				t.Errorf("JSON %s = %#v", s.Key, s.Value)
			}
		case "rcpthosts":
			if !reflect.DeepEqual(s.Value, []any{"a.example", "b.example"}) {
				t.Errorf("JSON %s = %#v", s.Key, s.Value)
			}
		case "badhelo":
			if s.Value != nil {
				t.Errorf("JSON %s = %#v, want null", s.Key, s.Value)
			}
		case "timeoutremote":
			if s.Value != "20m" || s.Origin != "default" {
				t.Errorf("JSON %s = %#v # %s", s.Key, s.Value, s.Origin)
			}
		}
	}
	if n != len(keys) {
		t.Errorf("%d JSON lines for %d keys", n, len(keys))
	}
}

func TestDiff(t *testing.T) {
	old, _, err := fixture{control: map[string]string{"me": "a.example\n"}}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    fixture
		want []string
	}{
		{"same value from another source", fixture{yaml: "me: a.example\n"}, nil},
		{"me and what follows it", fixture{control: map[string]string{"me": "b.example\n"}},
			[]string{"bouncehost", "defaultdomain", "defaulthost", "doublebouncehost", "envnoathost", "helohost",
				"idhost", "localiphost", "locals", "me", "plusdomain", "smtpgreeting"}},
		{"list absent to empty", fixture{control: map[string]string{"me": "a.example\n", "rcpthosts": ""}},
			[]string{"rcpthosts"}},
		{"two keys", fixture{control: map[string]string{"me": "a.example\n"}, env: []string{"QSEND_CONCURRENCYREMOTE=5", "QSEND_LOG_LEVEL=debug"}},
			[]string{"concurrencyremote", "log.level"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := tt.f.run(t)
			if err != nil {
				t.Fatal(err)
			}
			// Each fixture has its own control_dir.
			got := slices.DeleteFunc(c.Diff(old), func(k string) bool { return k == "control_dir" })
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff = %v, want %v", got, tt.want)
			}
		})
	}
	if got := old.Diff(nil); len(got) != len(keys) {
		t.Errorf("Diff(nil) lists %d keys, want all %d", len(got), len(keys))
	}
}

// TestRoundTrip writes every setting as YAML and loads it again: the values
// must survive, which checks that Value is valid YAML for its key.
func TestRoundTrip(t *testing.T) {
	c, _, err := fixture{
		control: map[string]string{"me": "mx.example\n", "smtproutes": ":relay.example:2525\nexample.org:\n",
			"smtpgreeting": "mx.example ESMTP # not a comment\n", "badmailfrom": "@spam.example\n'quoted'\n",
			"doublebounceto": "\n"},
		env: []string{"QSEND_SMTPD_LISTEN=:25=smtp,[::1]:465=smtps", "QSEND_DNS_RESOLVERS=[2001:db8::1]:53",
			"QSEND_ADMIN_GROUP=yes", "QSEND_BOUNCEFROM=true", "QSEND_IDHOST=123", "QSEND_PLUSDOMAIN=~",
			"QSEND_STORE_BATCH_DELAY=250us"},
	}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	again := roundTrip(t, c)
	// The fixture names its own control_dir in the environment.
	if d := slices.DeleteFunc(again.Diff(c), func(k string) bool { return k == "control_dir" }); len(d) > 0 {
		t.Errorf("round trip changed %v", d)
		for _, k := range d {
			v1, _ := lookup(t, c, k)
			v2, _ := lookup(t, again, k)
			t.Logf("%s: %q → %q", k, v1, v2)
		}
	}
}

// roundTrip writes c's settings as a YAML file and loads it.
func roundTrip(t *testing.T, c *Config) *Config {
	t.Helper()
	y := settingsYAML(c)
	again, _, err := fixture{yaml: y}.run(t)
	if err != nil {
		t.Fatalf("%v\nin\n%s", err, y)
	}
	return again
}

// settingsYAML writes c's settings as a config file, leaving out absent
// lists, which have no YAML form.
func settingsYAML(c *Config) string {
	var y strings.Builder
	section := ""
	for _, s := range c.Settings() {
		if s.Value == "" {
			continue
		}
		key := s.Key
		if sec, sub, ok := strings.Cut(key, "."); ok {
			if sec != section {
				y.WriteString(sec + ":\n")
				section = sec
			}
			y.WriteString("  " + sub + ": " + s.Value + "\n")
			continue
		}
		section = ""
		y.WriteString(key + ": " + s.Value + "\n")
	}
	return y.String()
}
