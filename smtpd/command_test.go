package smtpd

import (
	"net/netip"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct{ line, verb, arg string }{
		{"MAIL FROM:<a@b>", "mail", "FROM:<a@b>"},
		{"mail    FROM:<a@b> SIZE=1", "mail", "FROM:<a@b> SIZE=1"},
		{"QUIT", "quit", ""},
		{"", "", ""},
		{" NOOP", "", "NOOP"},
		{"HELO\tx", "helo\tx", ""},
		{"StartTLS ", "starttls", ""},
	}
	for _, tt := range tests {
		verb, arg := parseCommand(tt.line)
		if verb != tt.verb || arg != tt.arg {
			t.Errorf("parseCommand(%q) = %q, %q, want %q, %q", tt.line, verb, arg, tt.verb, tt.arg)
		}
	}
}

func TestParseAddr(t *testing.T) {
	local := netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		arg    string
		ok     bool
		addr   string
		params string
		trick  string
	}{
		{arg: "FROM:<a@example.com>", ok: true, addr: "a@example.com"},
		{arg: "FROM:<>", ok: true, addr: ""},
		{arg: "TO:<a@example.com> NOTIFY=NEVER", ok: true, addr: "a@example.com", params: " NOTIFY=NEVER"},
		{arg: "FROM:a@example.com SIZE=10", ok: true, addr: "a@example.com", params: "SIZE=10"},
		{arg: "FROM:   a@example.com", ok: true, addr: "a@example.com"},
		{arg: "FROM", ok: true, addr: ""},
		{arg: "garbage<a@example.com", ok: true, addr: "a@example.com"}, // no '>': qmail does not mind
		{arg: `TO:<"a b"@example.com>`, ok: true, addr: "a b@example.com"},
		{arg: `TO:<"a>b"@example.com>`, ok: true, addr: "a>b@example.com"},
		{arg: `TO:<a\>b@example.com>`, ok: true, addr: "a>b@example.com"},
		{arg: "TO:<@r1,@r2:a@example.com>", ok: true, addr: "a@example.com", trick: "source route"},
		{arg: "TO:<@r1>", ok: true, addr: "", trick: "source route"},
		{arg: "TO:<a%b@example.com>", ok: true, addr: "a%b@example.com", trick: "percent hack"},
		{arg: "TO:<b!a@example.com>", ok: true, addr: "b!a@example.com", trick: "bang path"},
		{arg: `TO:<"a@b"@example.com>`, ok: true, addr: "a@b@example.com", trick: "several @"},
		{arg: "TO:<a@[192.0.2.9]>", ok: true, addr: "a@[192.0.2.9]", trick: "address literal"},
		{arg: "TO:<a@[192.0.2.1]>", ok: true, addr: "a@here.example"},
		{arg: "TO:<a@[IPv6:2001:db8::1]>", ok: true, addr: "a@[IPv6:2001:db8::1]", trick: "address literal"},
		{arg: "TO:<a@[not an ip]>", ok: true, addr: "a@[not an ip]", trick: "address literal"},
		{arg: "TO:<a\x00b@example.com>", ok: false},
		{arg: "TO:<a\rb@example.com>", ok: false},
	}
	for _, tt := range tests {
		a, ok := parseAddr(tt.arg, local, "here.example")
		if ok != tt.ok {
			t.Errorf("parseAddr(%q) ok = %v", tt.arg, ok)
			continue
		}
		if !ok {
			continue
		}
		if a.addr != tt.addr || a.params != tt.params || a.trick() != tt.trick {
			t.Errorf("parseAddr(%q) = %q, %q, trick %q; want %q, %q, %q", tt.arg, a.addr, a.params, a.trick(), tt.addr, tt.params, tt.trick)
		}
	}
}

func TestMailParams(t *testing.T) {
	const (
		notOffered = "555 sorry, that parameter is not offered here: "
		malformed  = "501 sorry, that parameter is malformed: "
	)
	tests := []struct {
		params  string
		auth    bool
		size    int64
		utf8    bool
		refusal string
	}{
		{params: "", size: -1},
		{params: " SIZE=1000", size: 1000},
		{params: " size=0 BODY=8BITMIME", size: 0},
		{params: " BODY=7BIT SIZE=12", size: 12},
		{params: " SIZE=99999999999999999999", size: 1<<63 - 1},
		{params: " SMTPUTF8 BODY=8bitmime", size: -1, utf8: true},
		{params: " smtputf8", size: -1, utf8: true},
		{params: " AUTH=<>", auth: true, size: -1},
		// RFC 1870 §3: SIZE is 1*20DIGIT; qmail-smtpd ignored these (250 ok).
		{params: " SIZE=-5", refusal: malformed + "SIZE=-5 (#5.5.4)"},
		{params: " SIZE=", refusal: malformed + "SIZE= (#5.5.4)"},
		{params: " SIZE", refusal: malformed + "SIZE (#5.5.4)"},
		{params: " SIZE=1x", refusal: malformed + "SIZE=1x (#5.5.4)"},
		{params: " SIZE=123456789012345678901", size: 1<<63 - 1},
		{params: " BODY=9BIT", refusal: malformed + "BODY=9BIT (#5.5.4)"},
		{params: " SMTPUTF8=yes", refusal: malformed + "SMTPUTF8=yes (#5.5.4)"},
		// RFC 5321 §4.1.1.11: parameters of extensions not offered get 555.
		{params: " FOO=bar", refusal: notOffered + "FOO (#5.5.4)"},
		{params: " SIZE=10 BODY=BINARYMIME", refusal: notOffered + "BODY=BINARYMIME (#5.5.4)"},
		{params: " RET=HDRS", refusal: notOffered + "RET (#5.5.4)"},
		{params: " ENVID=x", refusal: notOffered + "ENVID (#5.5.4)"},
		{params: " AUTH=<>", refusal: notOffered + "AUTH (#5.5.4)"},
		{params: " X=\x01\x7f", refusal: notOffered + "X (#5.5.4)"},
	}
	for _, tt := range tests {
		p, refusal := parseMailParams(tt.params, tt.auth)
		if refusal != tt.refusal {
			t.Errorf("parseMailParams(%q) refusal %q, want %q", tt.params, refusal, tt.refusal)
			continue
		}
		if refusal == "" && (p.size != tt.size || p.utf8 != tt.utf8) {
			t.Errorf("parseMailParams(%q) = %+v, want size %d utf8 %v", tt.params, p, tt.size, tt.utf8)
		}
	}
}

func TestRcptParams(t *testing.T) {
	for params, want := range map[string]string{
		"":                    "",
		"  ":                  "",
		" NOTIFY=NEVER":       "555 sorry, that parameter is not offered here: NOTIFY (#5.5.4)",
		" ORCPT=rfc822;a@b.c": "555 sorry, that parameter is not offered here: ORCPT (#5.5.4)",
		" SIZE=10":            "555 sorry, that parameter is not offered here: SIZE (#5.5.4)",
	} {
		if got := rcptParams(params); got != want {
			t.Errorf("rcptParams(%q) = %q, want %q", params, got, want)
		}
	}
}

func TestInternational(t *testing.T) {
	const needUTF8 = "553 sorry, that address is not ASCII and MAIL did not ask for SMTPUTF8 (#5.6.7)"
	tests := []struct {
		addr    string
		utf8    bool
		want    string
		refusal string
	}{
		{addr: "user@example.org", want: "user@example.org"},
		{addr: "user@example.org", utf8: true, want: "user@example.org"},
		{addr: "üser@example.org", refusal: needUTF8},
		{addr: "user@bücher.example", refusal: needUTF8},
		{addr: "üser@example.org", utf8: true, want: "üser@example.org"},
		{addr: "Üser@Bücher.Example", utf8: true, want: "Üser@xn--bcher-kva.example"},
		{addr: "用户@例子.测试", utf8: true, want: "用户@xn--fsqu00a.xn--0zwm56d"},
		{addr: "üser", utf8: true, want: "üser"},
		// An A-label is ASCII: taken as it is, never decoded.
		{addr: "xn--ser-kva@xn--bcher-kva.example", want: "xn--ser-kva@xn--bcher-kva.example"},
		{addr: "u@a\u00adb.example", utf8: true, want: "u@ab.example"},
		{addr: "u@-ü.example", utf8: true, refusal: "553 sorry, that domain is not a valid internationalized domain name (#5.1.3)"},
	}
	for _, tt := range tests {
		a := address{addr: tt.addr}
		refusal := a.international(tt.utf8)
		if refusal != tt.refusal || (refusal == "" && a.addr != tt.want) {
			t.Errorf("international(%q, %v) = %q, %q; want %q, %q", tt.addr, tt.utf8, a.addr, refusal, tt.want, tt.refusal)
		}
	}
}

func TestParseAddrUTF8(t *testing.T) {
	for arg, ok := range map[string]bool{
		"TO:<üser@example.org>":    true,
		"TO:<\xfcser@example.org>": false, // Latin-1, not UTF-8
		"TO:<u\xc3@example.org>":   false, // a truncated sequence
	} {
		if _, got := parseAddr(arg, netip.Addr{}, ""); got != ok {
			t.Errorf("parseAddr(%q) ok = %v, want %v", arg, got, ok)
		}
	}
}

func TestRcptAllowed(t *testing.T) {
	withHosts := Options{Rcpthosts: domainSet{"example.org": true, ".example.net": true, "net2": true}}
	noHosts := Options{Locals: []string{"mx.example.org", "example.org"}}
	tests := []struct {
		o    *Options
		addr string
		want bool
	}{
		{&withHosts, "u@example.org", true},
		{&withHosts, "u@EXAMPLE.org", true},
		{&withHosts, "u@sub.example.org", false},
		{&withHosts, "u@sub.example.net", true},
		{&withHosts, "u@a.b.example.net", true},
		{&withHosts, "u@example.net", false},
		{&withHosts, "u@xexample.net", false},
		{&withHosts, "u@net2", true},
		{&withHosts, "u@x.net2", false},
		{&withHosts, "u@", false},
		{&withHosts, "postmaster", true},
		{&noHosts, "u@mx.example.org", true},
		{&noHosts, "u@Example.Org", true},
		{&noHosts, "u@sub.example.org", false},
		{&noHosts, "u@elsewhere.net", false},
		{&noHosts, "postmaster", true},
	}
	for _, tt := range tests {
		if got := tt.o.rcptAllowed(tt.addr); got != tt.want {
			t.Errorf("rcptAllowed(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}
