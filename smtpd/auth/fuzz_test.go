package auth

import (
	"strings"
	"testing"
)

// FuzzParsePasswords parses arbitrary password files: no panic; an
// accepted file has a dummy hash and only users without ':' or
// surrounding spaces; an error names the file.
func FuzzParsePasswords(f *testing.F) {
	for _, s := range []string{
		"# users\nalice:$2b$04$abcdefghijklmnopqrstuu5Ty0Nuv3Ywk/RTrWRBDm5ZbTx1eVq2a\n",
		"dave:$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$Tu1yJ8Lj3dO1r2z1mJ3hK7vbQxqf8Z1b7gW3rQf1h8o\n",
		"erin:{ARGON2ID}$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$Tu1yJ8Lj3dO1r2z1mJ3hK7vbQxqf8Z1b7gW3rQf1h8o:1000:1000::/home/erin\n",
		"gone:!\nx:*\n",
		"a:b:c\n:x\nnocolon\n",
		"a:$argon2id$v=19$m=4294967295,t=1,p=255$c2FsdHNhbHQ$aGFzaGhhc2g\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		users, dummy, err := parsePasswords("pw", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "pw:") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if dummy == nil {
			t.Fatal("no dummy hash")
		}
		for u, h := range users {
			if u == "" || strings.ContainsAny(u, ":\n") || strings.TrimSpace(u) != u || h == nil {
				t.Fatalf("bad user %q", u)
			}
			if a, ok := h.(*argon2idHash); ok && a.memory > maxArgonMemory {
				t.Fatalf("argon2id memory %d accepted", a.memory)
			}
		}
	})
}
