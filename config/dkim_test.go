package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestDKIMKeys(t *testing.T) {
	c, _, err := fixture{yaml: "dkim:\n  keys:\n    - {domain: Example.COM, selector: s2026, key: /etc/qsend/dkim/example.pem}\n"}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	want := []DKIMKey{{Domain: "example.com", Selector: "s2026", Key: "/etc/qsend/dkim/example.pem"}}
	if !reflect.DeepEqual(c.DKIMKeys, want) {
		t.Errorf("dkim.keys = %+v", c.DKIMKeys)
	}
	for _, s := range c.Settings() {
		if s.Key == "dkim.keys" && s.Value != "[{domain: example.com, selector: s2026, key: /etc/qsend/dkim/example.pem}]" {
			t.Errorf("dkim.keys shows as %s", s.Value)
		}
	}
}

func TestDKIMKeysErrors(t *testing.T) {
	tests := []struct {
		name string
		f    fixture
		want string
	}{
		{"relative", fixture{yaml: "dkim:\n  keys:\n    - {domain: a.example, selector: s, key: k.pem}\n"},
			`$T/qsend.yaml: line 3: key dkim.keys: dkim.keys a.example: key "k.pem" is not an absolute path`},
		{"no selector", fixture{yaml: "dkim:\n  keys:\n    - {domain: a.example, key: /k.pem}\n"},
			`line 3: key dkim.keys: dkim.keys entry without a domain, selector or key`},
		{"twice", fixture{yaml: "dkim:\n  keys:\n    - {domain: a.example, selector: s, key: /k.pem}\n    - {domain: A.example, selector: s, key: /l.pem}\n"},
			`line 4: key dkim.keys: dkim.keys: a.example selector s listed twice`},
		{"unknown field", fixture{yaml: "dkim:\n  keys:\n    - {domain: a.example, selector: s, file: /k.pem}\n"},
			`unknown dkim.keys field "file" (want domain, key, selector)`},
		{"in env", fixture{env: []string{"QSEND_DKIM_KEYS=a.example"}},
			`QSEND_DKIM_KEYS: dkim.keys cannot be set in the environment or with --set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir, err := tt.f.run(t)
			want := strings.ReplaceAll(tt.want, "$T", dir)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Load: %v\nwant an error containing %q", err, want)
			}
		})
	}
}
