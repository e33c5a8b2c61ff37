package mx

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseRoutesErrors(t *testing.T) {
	tests := []struct {
		line    string
		wantErr string
	}{
		{"example.com", "no ':'"},
		{"example.com:relay.example.net:0", `port "0"`},
		{"example.com:relay.example.net:65536", `port "65536"`},
		{"example.com:relay.example.net:+25", `port "+25"`},
		{"example.com:relay.example.net:", "empty port"},
		{"example.com:relay.example.net:25 user secret", "authentication in smtproutes is not supported"},
		{"example.com:relay.example.net user secret", "authentication in smtproutes is not supported"},
		{"example.com:[1.2.3.4", "no closing ]"},
		{"example.com:[1.2.3.4]x", "text after ]"},
		{"example.com:[1.2.3.4]:", "empty port"},
		{"example.com:[1.2.3]", "bad address literal"},
		{"example.com:[IPv6:1.2.3.4]", "bad address literal"},
		{"example.com:relay..example.net", "not a host name"},
		{"example.com:rel/ay", "not a host name"},
		{".:relay.example.net", "empty suffix"},
		{"exa mple.com:relay.example.net", "not a domain name"},
	}
	for _, tt := range tests {
		_, err := ParseRoutes([]string{"# comment", "", tt.line})
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseRoutes(%q) = %v; want error containing %q", tt.line, err, tt.wantErr)
			continue
		}
		// The error names the entry by its position and text.
		if want := `entry 3 "` + tt.line + `"`; !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRoutes(%q) = %v; want it to name %s", tt.line, err, want)
		}
	}
}

func TestRoutesLookup(t *testing.T) {
	// The examples of qmail-control(5)/qmail-remote(8), plus a default,
	// literals, a port and a duplicate.
	rt, err := ParseRoutes([]string{
		"inside.af.mil:firewall.af.mil:26",
		".af.mil:fwall.af.mil",
		"af.mil:",
		"plain.af.mil:",
		"Bücher.Example:Relay.Example.NET",
		"quad.example:1.2.3.4:2525",
		"bracket.example:[1.2.3.4]",
		"v6.example:[ipv6:2001:DB8::1]:587",
		"dup.example:first.example.net",
		"dup.example:second.example.net \t",
		":smarthost.example.net",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		domain string
		want   Route
		ok     bool
	}{
		{"inside.af.mil", Route{"firewall.af.mil", 26}, true},
		{"INSIDE.AF.MIL.", Route{"firewall.af.mil", 26}, true},
		{"a.inside.af.mil", Route{"fwall.af.mil", 0}, true}, // .inside.af.mil absent: .af.mil
		{"x.af.mil", Route{"fwall.af.mil", 0}, true},
		{"af.mil", Route{}, false},       // "use MX", the default is not used
		{"plain.af.mil", Route{}, false}, // exact "use MX" beats .af.mil
		{"xn--bcher-kva.example", Route{"relay.example.net", 0}, true},
		{"quad.example", Route{"1.2.3.4", 2525}, true},
		{"bracket.example", Route{"[1.2.3.4]", 0}, true},
		{"v6.example", Route{"[IPv6:2001:db8::1]", 587}, true},
		{"dup.example", Route{"second.example.net", 0}, true}, // the later line wins, as qmail's constmap
		{"elsewhere.example", Route{"smarthost.example.net", 0}, true},
		{"mil", Route{"smarthost.example.net", 0}, true},
	}
	for _, tt := range tests {
		got, ok := rt.Lookup(tt.domain)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tt.domain, got, ok, tt.want, tt.ok)
		}
	}
	var none Routes
	if r, ok := none.Lookup("example.com"); ok {
		t.Errorf("zero Routes gave %v", r)
	}
	again, err := ParseRoutes(rt.Lines())
	if err != nil || !reflect.DeepEqual(again, rt) {
		t.Errorf("Lines do not round-trip: %v\n%q", err, rt.Lines())
	}
}

func TestRoutesNoDefault(t *testing.T) {
	rt, err := ParseRoutes([]string{".example.com:relay.example.net"})
	if err != nil {
		t.Fatal(err)
	}
	for domain, want := range map[string]bool{
		"a.example.com": true, "example.com": false, "badexample.com": false, "com": false,
	} {
		if _, ok := rt.Lookup(domain); ok != want {
			t.Errorf("Lookup(%q) ok = %v, want %v", domain, ok, want)
		}
	}
}

func FuzzParseRoutes(f *testing.F) {
	f.Add("inside.af.mil:firewall.af.mil:26\n.af.mil:fwall.af.mil\naf.mil:\n:relay")
	f.Add("v6.example:[IPv6:2001:db8::1]:587\nquad:1.2.3.4")
	f.Add("x:y:25 user pass")
	f.Fuzz(func(t *testing.T, text string) {
		rt, err := ParseRoutes(strings.Split(text, "\n"))
		if err != nil {
			return
		}
		again, err := ParseRoutes(rt.Lines())
		if err != nil {
			t.Fatalf("Lines %q do not parse: %v", rt.Lines(), err)
		}
		if !reflect.DeepEqual(again, rt) {
			t.Fatalf("round trip changed routes:\n%q\n%q", rt.Lines(), again.Lines())
		}
		for key := range rt.entries {
			domain := strings.TrimPrefix(key, ".")
			if domain == "" {
				domain = "any.example"
			}
			r1, ok1 := rt.Lookup(domain)
			r2, ok2 := again.Lookup(domain)
			if r1 != r2 || ok1 != ok2 || ok1 && r1.Relay == "" {
				t.Fatalf("Lookup(%q): %v %v vs %v %v", domain, r1, ok1, r2, ok2)
			}
		}
	})
}
