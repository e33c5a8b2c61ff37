package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestTLSPolicy(t *testing.T) {
	yaml := `tls:
  default_level: encrypt
  on_expiry: bounce
  policy:
    - {destination: Example.COM, level: verify, ca_file: /etc/ssl/example.pem, min_version: "1.3", match: [mx.example.com, .example.com]}
    - destination: pinned.example
      level: fingerprint
      fingerprints: ["sha256:00ff"]
`
	c, _, err := fixture{yaml: yaml}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	want := []TLSRule{
		{Destination: "example.com", Level: "verify", CAFile: "/etc/ssl/example.pem", MinVersion: "1.3", Match: []string{"mx.example.com", ".example.com"}},
		{Destination: "pinned.example", Level: "fingerprint", Pins: []string{"sha256:00ff"}},
	}
	if c.TLSDefaultLevel != "encrypt" || c.TLSOnExpiry != "bounce" || !reflect.DeepEqual(c.TLSPolicy, want) {
		t.Errorf("got %q %q %+v", c.TLSDefaultLevel, c.TLSOnExpiry, c.TLSPolicy)
	}
	for _, s := range c.Settings() {
		if s.Key == "tls.policy" && !strings.HasPrefix(s.Value, "[{destination: example.com, level: verify, ca_file: /etc/ssl/example.pem, min_version: \"1.3\", match: [mx.example.com, .example.com]}") {
			t.Errorf("tls.policy shows as %s", s.Value)
		}
	}
}

func TestTLSPolicyErrors(t *testing.T) {
	tests := []struct {
		name string
		f    fixture
		want string
	}{
		{"unknown level", fixture{yaml: "tls:\n  policy:\n    - {destination: a.example, level: verfy}\n"},
			`$T/qsend.yaml: line 3: key tls.policy: destination a.example: level "verfy" is not one of none, may, encrypt`},
		{"twice", fixture{yaml: "tls:\n  policy:\n    - {destination: a.example, level: may}\n    - {destination: A.example, level: none}\n"},
			`$T/qsend.yaml: line 4: key tls.policy: destination a.example: listed twice`},
		{"no destination", fixture{yaml: "tls:\n  policy:\n    - {level: may}\n"},
			`line 3: key tls.policy: tls.policy entry without a destination`},
		{"fingerprint without pins", fixture{yaml: "tls:\n  policy:\n    - {destination: a.example, level: fingerprint}\n"},
			`destination a.example: level fingerprint needs fingerprints`},
		{"bad version", fixture{yaml: "tls:\n  policy:\n    - {destination: a.example, level: may, min_version: 1.4}\n"},
			`destination a.example: min_version "1.4" is not one of 1.0, 1.1, 1.2, 1.3`},
		{"unknown field", fixture{yaml: "tls:\n  policy:\n    - {destination: a.example, level: may, cafile: x}\n"},
			`unknown tls.policy field "cafile" (want ca_file, ciphers, destination, fingerprints, level, match, min_version, servername)`},
		{"in env", fixture{env: []string{"QSEND_TLS_POLICY=a.example"}},
			`QSEND_TLS_POLICY: tls.policy cannot be set in the environment or with --set`},
		{"default level", fixture{env: []string{"QSEND_TLS_DEFAULT_LEVEL=strict"}},
			`QSEND_TLS_DEFAULT_LEVEL: "strict" is not one of none, may`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir, err := tt.f.run(t)
			want := strings.ReplaceAll(tt.want, "$T", dir)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error = %v\nwant %s", err, want)
			}
		})
	}
}
