package intake

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadEnvelope(t *testing.T) {
	long := strings.Repeat("a", MaxAddrLen-1) // longest accepted: 1002 bytes + NUL
	tests := []struct {
		name   string
		in     string
		sender string
		rcpts  []string
		code   int
	}{
		{"one recipient", "Fa@b\x00Tc@d\x00\x00", "a@b", []string{"c@d"}, 0},
		{"null sender", "F\x00Tc@d\x00Te@f\x00\x00", "", []string{"c@d", "e@f"}, 0},
		{"empty recipient kept", "Fa\x00T\x00\x00", "a", []string{""}, 0},
		{"longest address", "F" + long + "\x00T" + long + "\x00\x00", long, []string{long}, 0},
		{"sender too long", "F" + long + "x\x00Tc\x00\x00", "", nil, ExitAddrTooLong},
		{"recipient too long", "Fa\x00T" + long + "xy\x00\x00", "", nil, ExitAddrTooLong},
		{"unterminated long address", "Fa\x00T" + strings.Repeat("b", 5000), "", nil, ExitAddrTooLong},
		{"no F", "Ta@b\x00\x00", "", nil, ExitEnvelope},
		{"bad record", "Fa\x00Xb\x00\x00", "", nil, ExitEnvelope},
		{"no recipients", "Fa\x00\x00", "", nil, ExitEnvelope},
		{"empty", "", "", nil, ExitReadError},
		{"no final NUL", "Fa\x00Tb\x00", "", nil, ExitReadError},
		{"cut in address", "Fa\x00Tb", "", nil, ExitReadError},
		{"cut in sender", "Fa", "", nil, ExitReadError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ReadEnvelope(strings.NewReader(tt.in))
			if got := ExitCode(err); got != tt.code {
				t.Fatalf("exit code %d (%v), want %d", got, err, tt.code)
			}
			if tt.code != 0 {
				return
			}
			if env.Sender != tt.sender || strings.Join(env.Recipients, ",") != strings.Join(tt.rcpts, ",") {
				t.Fatalf("got %q %q", env.Sender, env.Recipients)
			}
			if got := AppendEnvelope(nil, env); string(got) != tt.in {
				t.Fatalf("AppendEnvelope = %q, want %q", got, tt.in)
			}
		})
	}
}

func TestReadEnvelopeReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("Fa\x00"), iotest.ErrReader(boom))
	_, err := ReadEnvelope(r)
	if ExitCode(err) != ExitReadError || !errors.Is(err, boom) {
		t.Fatalf("got %v (code %d)", err, ExitCode(err))
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		code int
		text string
		perm bool
	}{
		{11, "envelope address too long for qq (#5.1.3)", true},
		{31, "mail server permanently rejected message (#5.3.0)", true},
		{35, "qq permanent problem (#5.3.0)", true},
		{53, "qq write error or disk full (#4.3.0)", false},
		{54, "qq read error (#4.3.0)", false},
		{64, "qq trouble creating files in queue (#4.3.0)", false},
		{74, "communication with mail server failed (#4.4.2)", false},
		{91, "qq internal bug (#4.3.0)", false},
		{99, "qq temporary problem (#4.3.0)", false},
	}
	for _, tt := range tests {
		text, perm := Describe(tt.code)
		if text != tt.text || perm != tt.perm || Permanent(tt.code) != tt.perm {
			t.Errorf("Describe(%d) = %q %v", tt.code, text, perm)
		}
	}
}

func FuzzReadEnvelope(f *testing.F) {
	f.Add([]byte("Fa@b\x00Tc@d\x00\x00"))
	f.Add([]byte("F\x00T\x00\x00"))
	f.Add([]byte("Fa\x00Xb\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		env, err := ReadEnvelope(bytes.NewReader(in))
		if err != nil {
			if ExitCode(err) == ExitBug {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if len(env.Recipients) == 0 {
			t.Fatal("accepted an envelope without recipients")
		}
		out := AppendEnvelope(nil, env)
		if !bytes.HasPrefix(in, out) {
			t.Fatalf("round trip %q is not a prefix of %q", out, in)
		}
		for _, a := range append(env.Recipients, env.Sender) {
			if len(a) >= MaxAddrLen || strings.IndexByte(a, 0) >= 0 {
				t.Fatalf("bad address %q", a)
			}
		}
	})
}
