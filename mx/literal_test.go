package mx

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseLiteral(t *testing.T) {
	tests := []struct {
		in      string
		want    string // address, "" for not a literal
		wantErr bool
	}{
		{"[192.0.2.1]", "192.0.2.1", false},
		{"192.0.2.1", "192.0.2.1", false},
		{"[IPv6:2001:db8::1]", "2001:db8::1", false},
		{"[ipv6:2001:DB8::1]", "2001:db8::1", false},
		{"example.com", "", false},
		{"1.2.3.example", "", false},
		{"1.2.3", "", false},
		{"[1.2.3]", "", true},
		{"[192.0.2.1", "", true},
		{"999.1.1.1", "", true},
		{"01.2.3.4", "", true},
		{"[2001:db8::1]", "", true},
		{"[IPv6:192.0.2.1]", "", true},
		{"[IPv6:::ffff:192.0.2.1]", "", true},
		{"[IPv6:fe80::1%eth0]", "", true},
	}
	for _, tt := range tests {
		a, ok, err := parseLiteral(tt.in)
		if (err != nil) != tt.wantErr || (tt.want != "") != (ok && err == nil) {
			t.Errorf("parseLiteral(%q) = %v, %v, %v", tt.in, a, ok, err)
			continue
		}
		if tt.want != "" && a != netip.MustParseAddr(tt.want) {
			t.Errorf("parseLiteral(%q) = %v, want %s", tt.in, a, tt.want)
		}
	}
}

// FuzzParseLiteral feeds recipient domains, which come from the network.
func FuzzParseLiteral(f *testing.F) {
	for _, s := range []string{"[192.0.2.1]", "[IPv6:2001:db8::1]", "1.2.3.4", "example.com", "[", "[IPv6:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok, err := parseLiteral(s)
		if !ok || err != nil {
			if a.IsValid() {
				t.Fatalf("parseLiteral(%q) gave %v with ok %v err %v", s, a, ok, err)
			}
			return
		}
		// A valid literal written back parses to the same address.
		text := "[" + a.String() + "]"
		if a.Is6() {
			text = "[IPv6:" + a.String() + "]"
		}
		b, ok, err := parseLiteral(text)
		if !ok || err != nil || b != a {
			t.Fatalf("%q -> %v -> %q -> %v %v %v", s, a, text, b, ok, err)
		}
		if !strings.HasPrefix(s, "[") && !a.Is4() {
			t.Fatalf("bare %q parsed as %v", s, a)
		}
	})
}

// FuzzToASCII feeds recipient domains through the name check: no panic, and an
// accepted name is a fixed point.
func FuzzToASCII(f *testing.F) {
	for _, s := range []string{"example.com", "bücher.example", "EXAMPLE.com", "a..b", "xn--bcher-kva.example", "_dmarc.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := toASCII(s)
		if err != nil {
			return
		}
		if !isHostName(a) {
			t.Fatalf("toASCII(%q) = %q, not a host name", s, a)
		}
		if b, err := toASCII(a); err != nil || b != a {
			t.Fatalf("toASCII(%q) = %q, then %q %v", s, a, b, err)
		}
	})
}
