package tcprules

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseRules(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // "line key rule"
	}{
		{"allow and deny", "1.2.3.4:allow\n1.2.3.5:deny\n", []string{"1 1.2.3.4 allow", "2 1.2.3.5 deny"}},
		{"comments, blank lines and lines without a colon", "# c\n\nno colon here\n:allow\n", []string{"4  allow"}},
		{"trailing whitespace and CR", "127.:allow,RELAYCLIENT=\"\" \t\r\n", []string{`1 127. allow,RELAYCLIENT=""`}},
		{"variables and quotes", `10.0.:allow,RELAYCLIENT=/@fix.me/,TCPLOCALHOST="movie.edu"`, []string{`1 10.0. allow,RELAYCLIENT="@fix.me",TCPLOCALHOST="movie.edu"`}},
		{"quote inside value", `:allow,X=/a"b/`, []string{`1  allow,X='a"b'`}},
		{"deny with variables", `:deny,X="1"`, []string{`1  deny,X="1"`}},
		{"later assignment wins", `:allow,X="1",Y="2",X="3"`, []string{`1  allow,X="3",Y="2"`}},
		{"last octet range", "1.2.3.37-39:allow", []string{"1 1.2.3.37 allow", "1 1.2.3.38 allow", "1 1.2.3.39 allow"}},
		{"middle range", "10.2-3.:deny", []string{"1 10.2. deny", "1 10.3. deny"}},
		{"range capped at 255", "1.2.3.254-999:allow", []string{"1 1.2.3.254 allow", "1 1.2.3.255 allow"}},
		{"empty range", "1.2.3.9-5:allow", nil},
		{"host names are not ranges", "=mail-1.example.com:allow\njoe-x@1.2.3.4:deny", []string{"1 =mail-1.example.com allow", "2 joe-x@1.2.3.4 deny"}},
		{"user and host forms", "joe@127.0.0.1:allow\n=.example.com:deny\n=:allow", []string{"1 joe@127.0.0.1 allow", "2 =.example.com deny", "3 = allow"}},
		{"ipv6", "::1:allow,A=\"1\"\n2001:db8::allow\n2001:db8::5:deny", []string{`1 ::1 allow,A="1"`, "2 2001:db8: allow", "3 2001:db8::5 deny"}},
		{"no final newline", "1.2.3.4:deny", []string{"1 1.2.3.4 deny"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := ParseRules(strings.NewReader(tt.text), "tcp.smtp")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, fmt.Sprintf("%d %s %s", e.Line, e.Rule.Key, e.Rule))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseRulesErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"unknown instruction", "# x\n1.2.3.4:permit\n", "tcp.smtp:2: unable to parse this line"},
		{"junk after allow", "1.2.3.4:allowx", "tcp.smtp:1: unable to parse"},
		{"no equals", `:allow,X`, "no '='"},
		{"no value", `:allow,X=`, "no value for X"},
		{"unclosed quote", `:allow,X="abc`, "not closed"},
		{"empty name", `:allow,="abc"`, "empty variable name"},
		{"bad range", "1.2.3.a-5:allow", "not a number"},
		{"ipv6 range", "2001:db8::5-7:allow", "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules(strings.NewReader(tt.text), "tcp.smtp")
			if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrSyntax containing %q", err, tt.want)
			}
		})
	}
}

// compile parses text and compiles it into a cdb in a temporary directory.
func compile(t *testing.T, text string) string {
	t.Helper()
	entries, err := ParseRules(strings.NewReader(text), "rules")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules.cdb")
	if err := CompileFile(path, entries); err != nil {
		t.Fatal(err)
	}
	return path
}

// lookupText formats a Lookup result the way tcprulescheck prints it.
func lookupText(r Rule, ok bool) string {
	if !ok {
		return "default:\nallow connection\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rule %s:\n", r.Key)
	if !r.Allow {
		b.WriteString("deny connection\n")
		return b.String()
	}
	for _, n := range r.Names {
		fmt.Fprintf(&b, "set environment variable %s=%s\n", n, r.Env[n])
	}
	b.WriteString("allow connection\n")
	return b.String()
}

const sampleRules = `# tcp.smtp as qmail installations write it
joe@127.0.0.1:allow,WHO="joe"
bill@=trusted.example.com:allow,WHO="bill"
127.0.0.1:allow,RELAYCLIENT=""
192.0.2.7:deny
=mail.example.com:allow,RELAYCLIENT="",DATABYTES="0"
192.0.2.:allow,TLSCIPHERS="HIGH"
198.51.100.10-20:allow,RELAYCLIENT="@relay.example"
10.2-3.:deny
=.example.com:allow,FROMDOMAIN="1"
=.com:allow,FROMCOM="1"
=:allow,NAMED="1"
:allow,DEFAULT="1"
`

type query struct {
	ip, host, info string
}

var sampleQueries = []query{
	{"127.0.0.1", "", ""},
	{"127.0.0.1", "", "joe"},
	{"127.0.0.1", "", "bill"},
	{"127.0.0.2", "", ""},
	{"192.0.2.7", "", ""},
	{"192.0.2.7", "mail.example.com", ""},
	{"192.0.2.8", "mail.example.com", ""},
	{"192.0.2.8", "", ""},
	{"198.51.100.9", "", ""},
	{"198.51.100.10", "", ""},
	{"198.51.100.20", "", ""},
	{"198.51.100.21", "", ""},
	{"10.2.0.1", "", ""},
	{"10.3.255.255", "", ""},
	{"10.4.0.1", "", ""},
	{"203.0.113.1", "a.b.example.com", ""},
	{"203.0.113.1", "host.example.org", ""},
	{"203.0.113.1", "other.com", ""},
	{"203.0.113.1", "trusted.example.com", "bill"},
	{"203.0.113.1", "trusted.example.com", "joe"},
	{"203.0.113.1", "", ""},
}

func TestLookup(t *testing.T) {
	db, err := Open(compile(t, sampleRules))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[query]string{
		{"127.0.0.1", "", ""}:                          "127.0.0.1 RELAYCLIENT=",
		{"127.0.0.1", "", "joe"}:                       "joe@127.0.0.1 WHO=joe",
		{"127.0.0.1", "", "bill"}:                      "127.0.0.1 RELAYCLIENT=",
		{"127.0.0.2", "", ""}:                          " DEFAULT=1",
		{"192.0.2.7", "", ""}:                          "192.0.2.7 deny",
		{"192.0.2.7", "mail.example.com", ""}:          "192.0.2.7 deny",
		{"192.0.2.8", "mail.example.com", ""}:          "=mail.example.com RELAYCLIENT= DATABYTES=0",
		{"192.0.2.8", "", ""}:                          "192.0.2. TLSCIPHERS=HIGH",
		{"198.51.100.9", "", ""}:                       " DEFAULT=1",
		{"198.51.100.10", "", ""}:                      "198.51.100.10 RELAYCLIENT=@relay.example",
		{"198.51.100.20", "", ""}:                      "198.51.100.20 RELAYCLIENT=@relay.example",
		{"198.51.100.21", "", ""}:                      " DEFAULT=1",
		{"10.2.0.1", "", ""}:                           "10.2. deny",
		{"10.3.255.255", "", ""}:                       "10.3. deny",
		{"10.4.0.1", "", ""}:                           " DEFAULT=1",
		{"203.0.113.1", "a.b.example.com", ""}:         "=.example.com FROMDOMAIN=1",
		{"203.0.113.1", "host.example.org", ""}:        "= NAMED=1",
		{"203.0.113.1", "other.com", ""}:               "=.com FROMCOM=1",
		{"203.0.113.1", "trusted.example.com", "bill"}: "bill@=trusted.example.com WHO=bill",
		{"203.0.113.1", "trusted.example.com", "joe"}:  "=.example.com FROMDOMAIN=1",
		{"203.0.113.1", "", ""}:                        " DEFAULT=1",
	}
	for _, q := range sampleQueries {
		r, ok, err := db.Lookup(netip.MustParseAddr(q.ip), q.host, q.info)
		if err != nil {
			t.Fatal(err)
		}
		got := "none"
		if ok {
			got = r.Key
			if !r.Allow {
				got += " deny"
			}
			for _, n := range r.Names {
				got += " " + n + "=" + r.Env[n]
			}
		}
		if got != want[q] {
			t.Errorf("Lookup(%+v) = %q, want %q", q, got, want[q])
		}
	}
}

func TestLookupEnvUnsetVersusEmpty(t *testing.T) {
	db, err := Open(compile(t, "127.0.0.1:allow,RELAYCLIENT=\"\"\n:allow\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, _, _ := db.Lookup(netip.MustParseAddr("127.0.0.1"), "", "")
	if v, ok := r.Env["RELAYCLIENT"]; !ok || v != "" {
		t.Errorf("RELAYCLIENT = %q, %v; want set and empty", v, ok)
	}
	r, ok, _ := db.Lookup(netip.MustParseAddr("192.0.2.1"), "", "")
	if _, set := r.Env["RELAYCLIENT"]; !ok || set || !r.Allow {
		t.Errorf("default rule = %+v, %v; want allow without RELAYCLIENT", r, ok)
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		ip, host, info string
		want           []string
	}{
		{"1.2.3.4", "", "", []string{"1.2.3.4", "1.2.3.", "1.2.", "1.", ""}},
		{"1.2.3.4", "a.example.com", "joe", []string{"joe@1.2.3.4", "joe@=a.example.com", "1.2.3.4", "=a.example.com", "1.2.3.", "1.2.", "1.", "=.example.com", "=.com", "=", ""}},
		{"::ffff:1.2.3.4", "", "", []string{"1.2.3.4", "1.2.3.", "1.2.", "1.", ""}},
		{"2001:db8::1", "", "", []string{"2001:db8::1", "2001:db8::", "2001:db8:", "2001:", ""}},
		{"fe80::1%eth0", "", "", []string{"fe80::1", "fe80::", "fe80:", ""}},
		{"", "h.example", "joe", []string{"joe@=h.example", "=h.example", "=.example", "=", ""}},
	}
	for _, tt := range tests {
		var ip netip.Addr
		if tt.ip != "" {
			ip = netip.MustParseAddr(tt.ip)
		}
		if got := Keys(ip, tt.host, tt.info); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Keys(%s, %q, %q) = %q, want %q", tt.ip, tt.host, tt.info, got, tt.want)
		}
	}
}

// TestUcspiCompat compiles the same rules with ucspi-tcp's tcprules and
// with CompileFile, and checks that tcprulescheck and Lookup agree on both
// files for every query. scripts/test installs Debian's ucspi-tcp.
func TestUcspiCompat(t *testing.T) {
	tcprules, err1 := exec.LookPath("tcprules")
	check, err2 := exec.LookPath("tcprulescheck")
	if err1 != nil || err2 != nil {
		t.Skip("tcprules/tcprulescheck not installed (Debian package ucspi-tcp); skipping the compatibility test")
	}
	dir := t.TempDir()
	theirs := filepath.Join(dir, "theirs.cdb")
	cmd := exec.Command(tcprules, theirs, theirs+".tmp")
	cmd.Stdin = strings.NewReader(sampleRules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tcprules: %v: %s", err, out)
	}
	ours := compile(t, sampleRules)
	for _, path := range []string{theirs, ours} {
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range sampleQueries {
			cmd := exec.Command(check, path)
			cmd.Env = []string{"TCPREMOTEIP=" + q.ip}
			if q.host != "" {
				cmd.Env = append(cmd.Env, "TCPREMOTEHOST="+q.host)
			}
			if q.info != "" {
				cmd.Env = append(cmd.Env, "TCPREMOTEINFO="+q.info)
			}
			want, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("tcprulescheck: %v: %s", err, want)
			}
			r, ok, err := db.Lookup(netip.MustParseAddr(q.ip), q.host, q.info)
			if err != nil {
				t.Fatal(err)
			}
			if got := lookupText(r, ok); got != string(want) {
				t.Errorf("%s %+v: Lookup says\n%s\ntcprulescheck says\n%s", filepath.Base(path), q, got, want)
			}
		}
		db.Close()
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "tcp.smtp.cdb")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

// BenchmarkLookup is the worst common case: a client that matches only the
// default rule, so every key is tried.
func BenchmarkLookup(b *testing.B) {
	entries, err := ParseRules(strings.NewReader(sampleRules), "rules")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "rules.cdb")
	if err := CompileFile(path, entries); err != nil {
		b.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ip := netip.MustParseAddr("203.0.113.77")
	b.ReportAllocs()
	for b.Loop() {
		db.Lookup(ip, "", "")
	}
}
