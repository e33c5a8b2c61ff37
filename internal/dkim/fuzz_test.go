package dkim

import (
	"strings"
	"testing"
)

func FuzzFromDomain(f *testing.F) {
	f.Add([]byte("From: Alice <alice@example.com>\n\nbody"))
	f.Add([]byte("from: \"a, b\" <a@b.example>, c@d\r\n\r\n"))
	f.Add([]byte("From:\n\t=?utf-8?q?x?= <x@y.z>\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		d, ok := FromDomain(msg)
		if ok != (d != "") || ok && (!validDomain(d) || strings.ToLower(d) != d) {
			t.Fatalf("FromDomain = %q, %v", d, ok)
		}
	})
}

func FuzzTags(f *testing.F) {
	f.Add("v=DKIM1; k=rsa; p=MIIB")
	f.Add("v=DKIM1;k=ed25519;p=;")
	f.Add("a=b=c; ;x")
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := Tags(s)
		if err == nil && len(tags) > strings.Count(s, "=") {
			t.Fatalf("%d tags from %q", len(tags), s)
		}
	})
}

func FuzzParseKey(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"))
	f.Add([]byte("hello"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := ParseKey(data); err == nil && s == nil {
			t.Fatal("no key and no error")
		}
	})
}
