package ciphers

import (
	"crypto/tls"
	"testing"
)

func TestName(t *testing.T) {
	tests := []struct {
		id, version uint16
		want        string
	}{
		{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.VersionTLS12, "ECDHE-RSA-AES128-GCM-SHA256"},
		{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.VersionTLS12, "ECDHE-RSA-AES256-GCM-SHA384"},
		{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.VersionTLS12, "ECDHE-ECDSA-CHACHA20-POLY1305"},
		{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.VersionTLS10, "ECDHE-RSA-AES128-SHA"},
		{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.VersionTLS12, "DES-CBC3-SHA"},
		{tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.VersionTLS12, "AES256-SHA"},
		{tls.TLS_AES_128_GCM_SHA256, tls.VersionTLS13, "TLS_AES_128_GCM_SHA256"},
		{tls.TLS_AES_256_GCM_SHA384, 0, "TLS_AES_256_GCM_SHA384"},
		{tls.TLS_CHACHA20_POLY1305_SHA256, tls.VersionTLS13, "TLS_CHACHA20_POLY1305_SHA256"},
		{0x1234, tls.VersionTLS12, "0x1234"},
	}
	for _, tc := range tests {
		if got := Name(tc.id, tc.version); got != tc.want {
			t.Errorf("Name(%#04x, %#04x) = %q, want %q", tc.id, tc.version, got, tc.want)
		}
	}
}

func TestVersionName(t *testing.T) {
	tests := []struct {
		v    uint16
		want string
	}{
		{0x0300, "SSLv3"},
		{tls.VersionTLS10, "TLSv1"},
		{tls.VersionTLS11, "TLSv1.1"},
		{tls.VersionTLS12, "TLSv1.2"},
		{tls.VersionTLS13, "TLSv1.3"},
		{0x7f1c, "unknown"},
	}
	for _, tc := range tests {
		if got := VersionName(tc.v); got != tc.want {
			t.Errorf("VersionName(%#04x) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want uint16
		bad  bool
	}{
		{in: "TLSv1.2", want: tls.VersionTLS12},
		{in: "tlsv1.3", want: tls.VersionTLS13},
		{in: "TLS1.1", want: tls.VersionTLS11},
		{in: "TLSv1", want: tls.VersionTLS10},
		{in: "1.0", want: tls.VersionTLS10},
		{in: " 1.2 ", want: tls.VersionTLS12},
		{in: "SSLv3", bad: true},
		{in: "", want: 0}, // crypto/tls's default minimum
		{in: "1.4", bad: true},
	}
	for _, tc := range tests {
		got, err := ParseVersion(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseVersion(%q) = %#04x, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseVersion(%q) = %#04x, %v; want %#04x", tc.in, got, err, tc.want)
		}
	}
}
