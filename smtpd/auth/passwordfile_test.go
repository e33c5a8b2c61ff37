package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// bcryptOf returns a cheap bcrypt hash of pass with the given prefix.
func bcryptOf(t testing.TB, pass, prefix string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + string(h[len(prefix):])
}

// argon2idOf returns a cheap argon2id PHC string of pass.
func argon2idOf(pass string) string {
	salt := []byte("saltsaltsalt")
	key := argon2.IDKey([]byte(pass), salt, 1, 64, 1, 32)
	return fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s",
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// clock is a settable clock for the reload checks.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestPasswordFileCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwords")
	writeFile(t, path, strings.Join([]string{
		"# users",
		"",
		"alice:" + bcryptOf(t, "alice-pw", "$2a$"),
		"bob:" + bcryptOf(t, "bob-pw", "$2b$") + "   ",
		"carol:" + bcryptOf(t, "carol-pw", "$2y$"),
		"dave:" + argon2idOf("dave-pw"),
		"erin:{ARGON2ID}" + argon2idOf("erin-pw") + "::::/home/erin",
		"frank:{BLF-CRYPT}" + bcryptOf(t, "frank-pw", "$2b$"),
		"gone:!" + bcryptOf(t, "gone-pw", "$2b$"),
	}, "\n")+"\n")
	p, err := OpenPasswordFile(path, PasswordFileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, pass string
		ok         bool
	}{
		{"alice", "alice-pw", true},
		{"alice", "wrong", false},
		{"Alice", "alice-pw", false},
		{"bob", "bob-pw", true},
		{"carol", "carol-pw", true},
		{"dave", "dave-pw", true},
		{"dave", "dave-pw ", false},
		{"erin", "erin-pw", true},
		{"frank", "frank-pw", true},
		{"gone", "gone-pw", false},
		{"nobody", "alice-pw", false},
		{"", "", false},
	}
	for _, tt := range tests {
		err := p.Check(context.Background(), tt.user, tt.pass)
		if tt.ok && err != nil || !tt.ok && !errors.Is(err, ErrRejected) {
			t.Errorf("Check(%q, %q) = %v, want ok=%v", tt.user, tt.pass, err, tt.ok)
		}
	}
}

func TestPasswordFileErrors(t *testing.T) {
	good := bcryptOf(t, "pw", "$2b$")
	tests := []struct{ text, want string }{
		{"# c\nalice\n", ":2: want user:hash"},
		{":" + good + "\n", ":1: empty user name"},
		{"alice:\n", ":1: user alice: empty hash"},
		{"alice:plaintext\n", ":1: user alice: unknown hash format"},
		{"alice:{PLAIN}pw\n", "unsupported scheme {PLAIN}"},
		{"alice:$2b$04$short\n", ":1: user alice: bcrypt hash"},
		{"alice:" + good + "\n\nalice:" + good + "\n", ":3: user alice already on line 1"},
		{"a:$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g\n", "version"},
		{"a:$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$aGFzaGhhc2g\n", "m, t and p are all required"},
		{"a:$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g\n", "out of range"},
		{"a:$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaGhhc2g\n", "salt"},
		{"a:$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHQ$aGFzaGhhc2g\n", "unknown parameter"},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "passwords")
		writeFile(t, path, tt.text)
		_, err := OpenPasswordFile(path, PasswordFileOptions{})
		if err == nil || !strings.HasPrefix(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want it to name %s and contain %q", tt.text, err, path, tt.want)
		}
	}
	if _, err := OpenPasswordFile(filepath.Join(t.TempDir(), "none"), PasswordFileOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestPasswordFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwords")
	writeFile(t, path, "alice:"+bcryptOf(t, "one", "$2b$")+"\n")
	c := &clock{t: time.Unix(1e9, 0)}
	var logs bytes.Buffer
	p, err := OpenPasswordFile(path, PasswordFileOptions{Now: c.now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	check := func(user, pass, want string) {
		t.Helper()
		err := p.Check(context.Background(), user, pass)
		got := "ok"
		switch {
		case errors.Is(err, ErrRejected):
			got = "rejected"
		case err != nil:
			got = "temporary"
		}
		if got != want {
			t.Errorf("Check(%s, %s) = %v (%s), want %s", user, pass, err, got, want)
		}
	}
	check("alice", "one", "ok")

	// A new password: seen only once a second has passed.
	writeFile(t, path, "alice:"+bcryptOf(t, "two", "$2b$")+"\nbob:"+bcryptOf(t, "bob", "$2b$")+"\n")
	check("alice", "one", "ok")
	c.add(time.Second)
	check("alice", "two", "ok")
	check("alice", "one", "rejected")
	check("bob", "bob", "ok")

	// A broken file refuses temporarily instead of keeping bob.
	writeFile(t, path, "alice:"+bcryptOf(t, "two", "$2b$")+"\nbroken line\n")
	c.add(time.Second)
	check("bob", "bob", "temporary")
	check("alice", "two", "temporary")
	if !strings.Contains(logs.String(), path+":2: want user:hash") {
		t.Errorf("log does not name the line at fault:\n%s", logs.String())
	}

	// Fixed again.
	writeFile(t, path, "alice:"+bcryptOf(t, "three", "$2b$")+"\n")
	c.add(time.Second)
	check("alice", "three", "ok")
	check("bob", "bob", "rejected")

	// Removed: temporary.
	os.Remove(path)
	c.add(time.Second)
	check("alice", "three", "temporary")
}

func TestPasswordFileDummy(t *testing.T) {
	users, dummy, err := parsePasswords("f", []byte("off:!x\nalice:"+argon2idOf("pw")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if dummy != users["alice"] {
		t.Error("the dummy hash is not the file's first usable hash")
	}
	_, dummy, _ = parsePasswords("f", []byte("off:*\n"))
	if _, err := bcrypt.Cost([]byte(dummy.(bcryptHash))); err != nil {
		t.Errorf("built-in dummy hash is not a bcrypt hash: %v", err)
	}
}

// BenchmarkPasswordFileCheck compares a wrong password for a known user
// with an unknown user: both cost one bcrypt verification.
func BenchmarkPasswordFileCheck(b *testing.B) {
	path := filepath.Join(b.TempDir(), "passwords")
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), 8)
	os.WriteFile(path, []byte("alice:"+string(h)+"\n"), 0o600)
	p, err := OpenPasswordFile(path, PasswordFileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, user := range []string{"alice", "unknown"} {
		b.Run(user, func(b *testing.B) {
			for b.Loop() {
				p.Check(context.Background(), user, "wrong")
			}
		})
	}
}
