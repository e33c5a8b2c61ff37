package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkpasswordScript is a checkpassword-compatible program: it reads the
// credentials from descriptor 3, copies them to $DUMP when set, and
// answers by user name.
const checkpasswordScript = `#!/bin/sh
tmp=$(mktemp)
head -c 512 <&3 >"$tmp"
[ -n "$DUMP" ] && cp "$tmp" "$DUMP"
user=$(tr '\0' '\n' <"$tmp" | sed -n 1p)
pass=$(tr '\0' '\n' <"$tmp" | sed -n 2p)
rm -f "$tmp"
case "$user:$pass" in
alice:secret) exec "$@" ;;
temp:*) echo "cannot reach the user database" >&2; exit 111 ;;
misused:*) exit 2 ;;
crash:*) kill -9 $$ ;;
slow:*) sleep 60 ;;
esac
exit 1
`

// writeScript writes the test checkpassword program.
func writeScript(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "checkpassword")
	if err := os.WriteFile(path, []byte(checkpasswordScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckpassword(t *testing.T) {
	script := writeScript(t)
	tests := []struct {
		name       string
		cp         Checkpassword
		user, pass string
		want       string // "ok", "rejected", or a text of the temporary error
	}{
		{"accepted", Checkpassword{Path: script}, "alice", "secret", "ok"},
		{"wrong password", Checkpassword{Path: script}, "alice", "guess", "rejected"},
		{"unknown user", Checkpassword{Path: script}, "mallory", "secret", "rejected"},
		{"success program fails", Checkpassword{Path: script, Args: []string{"/bin/false"}}, "alice", "secret", "rejected"},
		{"temporary", Checkpassword{Path: script}, "temp", "x", "exit status 111: cannot reach the user database"},
		{"misused", Checkpassword{Path: script}, "misused", "x", "exit status 2"},
		{"crash", Checkpassword{Path: script}, "crash", "x", "signal: killed"},
		{"timeout", Checkpassword{Path: script, Timeout: 200 * time.Millisecond}, "slow", "x", "deadline exceeded"},
		{"missing program", Checkpassword{Path: "/nonexistent/checkpassword"}, "alice", "secret", "no such file"},
		{"NUL in password", Checkpassword{Path: script}, "alice", "sec\x00ret", "rejected"},
		{"too long", Checkpassword{Path: script}, "alice", strings.Repeat("x", 2000), "rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := tt.cp.Check(context.Background(), tt.user, tt.pass)
			switch tt.want {
			case "ok":
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
			case "rejected":
				if !errors.Is(err, ErrRejected) {
					t.Fatalf("err = %v, want ErrRejected", err)
				}
			default:
				if err == nil || errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.cp.Path) {
					t.Fatalf("err = %v, want a temporary error naming %s and containing %q", err, tt.cp.Path, tt.want)
				}
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

func TestCheckpasswordDescriptor3(t *testing.T) {
	script := writeScript(t)
	dump := filepath.Join(t.TempDir(), "fd3")
	cp := Checkpassword{Path: script, Env: []string{"DUMP=" + dump, "PATH=/usr/bin:/bin"}}
	for _, tt := range []struct{ ts, want string }{
		{"", "alice\x00secret\x00\x00"},
		{"<1896.697170952@dbc.mtview.ca.us>", "alice\x00secret\x00<1896.697170952@dbc.mtview.ca.us>\x00"},
	} {
		if err := cp.CheckTimestamp(context.Background(), "alice", "secret", tt.ts); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(dump)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("descriptor 3 carried %q, want %q", got, tt.want)
		}
	}
}

func TestCheckpasswordContextCancel(t *testing.T) {
	script := writeScript(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	err := (&Checkpassword{Path: script}).Check(ctx, "slow", "x")
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrRejected) {
		t.Fatalf("err = %v, want a temporary error wrapping context.Canceled", err)
	}
}
