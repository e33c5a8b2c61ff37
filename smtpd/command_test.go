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
	tests := []struct {
		params string
		size   int64
	}{
		{"", -1},
		{" SIZE=1000", 1000},
		{" size=0 BODY=8BITMIME", 0},
		{" BODY=7BIT SIZE=12", 12},
		{" SIZE=-5", -1},
		{" SIZE=", -1},
		{" SIZE=99999999999999999999", 1<<63 - 1},
		{" SIZE=1x", -1},
	}
	for _, tt := range tests {
		if got := mailParams(tt.params); got != tt.size {
			t.Errorf("mailParams(%q) = %d, want %d", tt.params, got, tt.size)
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
