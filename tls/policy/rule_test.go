package policy

import (
	"crypto/tls"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

func TestCompileRule(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t, "Rule CA").WritePEM(t, filepath.Join(dir, "ca.pem"))
	junk := write(t, dir, "junk.pem", []byte("junk"))
	pin := "sha256:" + strings.Repeat("AB", 32)
	colonPin := "spki-sha256:" + strings.TrimSuffix(strings.Repeat("0a:", 32), ":")

	good := []struct {
		name string
		spec RuleSpec
		want Rule
	}{
		{"encrypt", RuleSpec{Level: "encrypt"}, Rule{Level: Encrypt}},
		{"verify with everything", RuleSpec{Level: "verify", CAFile: ca, MinVersion: "TLSv1.3", Ciphers: "ECDHE+AESGCM:!aECDSA", ServerName: "mx.example.com", Match: []string{"hostname", ".Example.COM."}},
			Rule{Level: Verify, CAFile: ca, MinVersion: tls.VersionTLS13,
				Ciphers:    []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
				ServerName: "mx.example.com", Match: []string{"hostname", ".example.com"}}},
		{"fingerprint", RuleSpec{Level: "fingerprint", Pins: []string{pin, colonPin}},
			Rule{Level: Fingerprint, Pins: []string{"sha256:" + strings.Repeat("ab", 32), "spki-sha256:" + strings.Repeat("0a", 32)}}},
		{"dane-only", RuleSpec{Level: "dane-only"}, Rule{Level: DaneOnly}},
	}
	for _, tc := range good {
		got, err := CompileRule("example.com", tc.spec)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got.Level != tc.want.Level || got.CAFile != tc.want.CAFile || got.MinVersion != tc.want.MinVersion ||
			!slices.Equal(got.Ciphers, tc.want.Ciphers) || got.ServerName != tc.want.ServerName ||
			!slices.Equal(got.Match, tc.want.Match) || !slices.Equal(got.Pins, tc.want.Pins) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}

	bad := []struct {
		spec RuleSpec
		text string
	}{
		{RuleSpec{Level: "verfy"}, `tls.policy.example.com: unknown level "verfy"`},
		{RuleSpec{}, "tls.policy.example.com: level is missing"},
		{RuleSpec{Level: "encrypt", CAFile: ca}, "cafile applies to verify and secure only"},
		{RuleSpec{Level: "verify", CAFile: filepath.Join(dir, "missing.pem")}, "tls.policy.example.com: cafile: open"},
		{RuleSpec{Level: "verify", CAFile: junk}, "cafile: " + junk + ": no certificate"},
		{RuleSpec{Level: "may", MinVersion: "SSLv3"}, "min_version"},
		{RuleSpec{Level: "may", Ciphers: "DHE-RSA-AES256-SHA"}, `tls.policy.example.com: ciphers: cipher "DHE-RSA-AES256-SHA" is not supported by Go's TLS`},
		{RuleSpec{Level: "may", ServerName: "a b"}, "servername"},
		{RuleSpec{Level: "encrypt", Match: []string{"x"}}, "match applies to verify and secure only"},
		{RuleSpec{Level: "verify", Match: []string{""}}, "match"},
		{RuleSpec{Level: "fingerprint"}, "fingerprint needs at least one pin"},
		{RuleSpec{Level: "verify", Pins: []string{pin}}, "pins apply to fingerprint only"},
		{RuleSpec{Level: "fingerprint", Pins: []string{"md5:00"}}, "want sha256:<hex>"},
		{RuleSpec{Level: "fingerprint", Pins: []string{"sha256:abcd"}}, "64 hex digits"},
	}
	for _, tc := range bad {
		_, err := CompileRule("example.com", tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("CompileRule(%+v) = %v, want an error containing %q", tc.spec, err, tc.text)
		}
	}
}
