package tcprules

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseRules parses arbitrary rules text: no panic, every entry
// survives compiling to a cdb value and decoding it again, and the text
// form of a rule parses back to the same rule.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{
		sampleRules,
		"1.2.3.37-53:allow\n10.2-3.:deny\n",
		"::1:allow,A=\"1\"\n2001:db8::allow\n",
		":allow,X=/a\"b/,Y=''\n",
		"1.2.3.4:allow,A=\":deny\"\n",
		"x:foo\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		entries, err := ParseRules(strings.NewReader(text), "fuzz")
		if err != nil {
			return
		}
		for _, e := range entries {
			enc := e.Rule.encode()
			got := decode(e.Rule.Key, enc)
			if got.String() != e.Rule.String() || got.Allow != e.Rule.Allow {
				t.Fatalf("decode(encode(%q)) = %q", e.Rule, got)
			}
			if bytes.IndexByte([]byte(e.Rule.Key), '\n') >= 0 {
				t.Fatalf("key %q holds a newline", e.Rule.Key)
			}
			k := e.Rule.Key
			if strings.ContainsAny(e.Rule.String(), "\n\r\x00") || strings.Contains(k, ":allow") || strings.Contains(k, ":deny") ||
				(strings.Contains(k, "-") && !strings.ContainsAny(k, "=@")) || strings.HasPrefix(k, "#") {
				continue // a line would not say the same again; nothing more to check
			}
			back, err := ParseRules(strings.NewReader(e.Rule.Key+":"+e.Rule.String()), "back")
			if err != nil {
				t.Fatalf("%q does not parse back: %v", e.Rule.Key+":"+e.Rule.String(), err)
			}
			if len(back) == 0 || back[0].Rule.String() != e.Rule.String() {
				t.Fatalf("%q parses back as %+v", e.Rule.Key+":"+e.Rule.String(), back)
			}
		}
	})
}

// FuzzDecode decodes arbitrary cdb values as tcpserver would.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("D\x00+X=y\x00"))
	f.Add([]byte("+RELAYCLIENT=\x00+A\x00junk"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := decode("k", data)
		if len(r.Names) != len(r.Env) {
			t.Fatalf("Names %q and Env %v disagree", r.Names, r.Env)
		}
	})
}
