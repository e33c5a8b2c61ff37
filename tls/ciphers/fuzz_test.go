package ciphers

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, returns no duplicates, returns
// only suites it knows, and returns an insecure suite only when the string
// names it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "DEFAULT", "HIGH:!aNULL:!MD5", "EECDH+AESGCM:EDH+AESGCM", "ALL:@STRENGTH",
		"AES128-SHA:RC4-SHA", "!ECDHE:ECDHE", "TLS_AES_128_GCM_SHA256", "+AES:-aRSA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			if got != nil {
				t.Fatalf("Parse(%q) returned %v with error %v", s, got, err)
			}
			return
		}
		seen := map[uint16]bool{}
		for _, id := range got {
			if seen[id] {
				t.Fatalf("Parse(%q): %#04x twice", s, id)
			}
			seen[id] = true
			i := slices.IndexFunc(suites, func(x suite) bool { return x.id == id })
			if i < 0 {
				t.Fatalf("Parse(%q): unknown suite %#04x", s, id)
			}
			if suites[i].attrs&insecure != 0 && !strings.Contains(s, suites[i].name) && !strings.Contains(s, "TLS_") {
				t.Fatalf("Parse(%q): insecure %s without being named", s, suites[i].name)
			}
		}
	})
}
