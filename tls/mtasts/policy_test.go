package mtasts

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		mode    Mode
		mx      []string
		maxAge  time.Duration
		wantErr string // substring of the error
	}{
		{name: "enforce CRLF",
			text: "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
			mode: ModeEnforce, mx: []string{"mail.example.com", "*.example.net"}, maxAge: 604800 * time.Second},
		{name: "testing LF, no final newline",
			text: "version: STSv1\nmode: testing\nmx: MX.Example.COM\nmax_age: 86400",
			mode: ModeTesting, mx: []string{"mx.example.com"}, maxAge: 86400 * time.Second},
		{name: "none without mx", text: "version: STSv1\nmode: none\nmax_age: 0\n", mode: ModeNone, maxAge: 0},
		{name: "any order, white space, unknown keys",
			text: "max_age:\t31557600  \nx-note: anything at all: here\nmx:a.example\nmode:   enforce\nversion: STSv1\n\n",
			mode: ModeEnforce, mx: []string{"a.example"}, maxAge: MaxMaxAge},
		{name: "unknown key repeated", text: "version: STSv1\nmode: none\nmax_age: 1\nx: 1\nx: 2\n", mode: ModeNone, maxAge: time.Second},
		{name: "no version", text: "mode: enforce\nmx: a.example\nmax_age: 1\n", wantErr: "no version"},
		{name: "no mode", text: "version: STSv1\nmx: a.example\nmax_age: 1\n", wantErr: "no mode"},
		{name: "no max_age", text: "version: STSv1\nmode: enforce\nmx: a.example\n", wantErr: "no max_age"},
		{name: "no mx", text: "version: STSv1\nmode: enforce\nmax_age: 1\n", wantErr: "has no mx"},
		{name: "bad version", text: "version: STSv2\nmode: none\nmax_age: 1\n", wantErr: "line 1"},
		{name: "version case", text: "version: stsv1\nmode: none\nmax_age: 1\n", wantErr: "line 1"},
		{name: "bad mode", text: "version: STSv1\nmode: Enforce\nmax_age: 1\n", wantErr: "line 2"},
		// Above the maximum is capped at it, never refused, never negative
		// (RFC 8461 §3.2: 1*10DIGIT, a maximum of 31557600).
		{name: "max_age just below the maximum", text: "version: STSv1\nmode: none\nmax_age: 31557599\n", mode: ModeNone, maxAge: MaxMaxAge - time.Second},
		{name: "max_age just above the maximum", text: "version: STSv1\nmode: none\nmax_age: 31557601\n", mode: ModeNone, maxAge: MaxMaxAge},
		{name: "max_age ten digits", text: "version: STSv1\nmode: none\nmax_age: 9999999999\n", mode: ModeNone, maxAge: MaxMaxAge},
		{name: "max_age ten digits overflowing a duration", text: "version: STSv1\nmode: none\nmax_age: 9223372037\n", mode: ModeNone, maxAge: MaxMaxAge},
		{name: "max_age ten digits with leading zeros", text: "version: STSv1\nmode: none\nmax_age: 0000000042\n", mode: ModeNone, maxAge: 42 * time.Second},
		{name: "max_age eleven digits", text: "version: STSv1\nmode: none\nmax_age: 00000000001\n", wantErr: "line 3"},
		{name: "max_age negative", text: "version: STSv1\nmode: none\nmax_age: -1\n", wantErr: "line 3"},
		{name: "max_age not a number", text: "version: STSv1\nmode: none\nmax_age: 1d\n", wantErr: "line 3"},
		{name: "duplicate mode", text: "version: STSv1\nmode: none\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantErr: "repeated from line 2"},
		{name: "no colon", text: "version: STSv1\nmode none\nmax_age: 1\n", wantErr: "line 2"},
		{name: "leading space", text: " version: STSv1\nmode: none\nmax_age: 1\n", wantErr: "line 1"},
		{name: "space before colon", text: "version : STSv1\nmode: none\nmax_age: 1\n", wantErr: "line 1"},
		{name: "empty value", text: "version: STSv1\nmode: none\nmax_age: 1\nx:\n", wantErr: "line 4"},
		{name: "mx wildcard in the middle", text: "version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n", wantErr: "line 3"},
		{name: "mx bare wildcard", text: "version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", wantErr: "line 3"},
		{name: "mx trailing dot", text: "version: STSv1\nmode: enforce\nmx: a.example.\nmax_age: 1\n", wantErr: "line 3"},
		{name: "mx hyphen at label end", text: "version: STSv1\nmode: enforce\nmx: a-.example\nmax_age: 1\n", wantErr: "line 3"},
		{name: "mx with port", text: "version: STSv1\nmode: enforce\nmx: a.example:25\nmax_age: 1\n", wantErr: "line 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(tt.text))
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePolicy = %+v, %v; want an ErrSyntax containing %q", p, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Mode != tt.mode || !slices.Equal(p.MX, tt.mx) || p.MaxAge != tt.maxAge {
				t.Errorf("ParsePolicy = %+v", p)
			}
		})
	}
}

// TestCachedRoundTrip checks that a policy cached for the longest max_age
// survives the JSON the daemon writes to the queue file and reads back
// after a restart, and expires no later than the maximum allows.
func TestCachedRoundTrip(t *testing.T) {
	for _, maxAge := range []string{"0", "86400", "31557600", "31557601", "9999999999"} {
		t.Run(maxAge, func(t *testing.T) {
			p, err := ParsePolicy([]byte("version: STSv1\nmode: enforce\nmx: *.example.net\nmax_age: " + maxAge + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
			c := Cached{Policy: *p, ID: "1", Fetched: now, Expires: now.Add(p.MaxAge)}
			b, err := json.Marshal(&c)
			if err != nil {
				t.Fatal(err)
			}
			var back Cached
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("the cached record %s does not load: %v", b, err)
			}
			if back.Policy.MaxAge != p.MaxAge || !back.Expires.Equal(c.Expires) || back.Expires.Before(now) || back.Expires.After(now.Add(MaxMaxAge)) {
				t.Errorf("loaded %+v from %s, stored %+v", back, b, c)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	p := &Policy{Mode: ModeEnforce, MX: []string{"mail.example.com", "*.example.net"}}
	tests := []struct {
		host string
		want bool
	}{
		{"mail.example.com", true},
		{"MAIL.Example.com.", true},
		{"other.example.com", false},
		{"mx1.example.net", true},
		{"MX1.example.net.", true},
		{"example.net", false},     // the wildcard needs a label
		{"a.b.example.net", false}, // and only one (RFC 8461 §4.1)
		{"mx1.example.net.evil", false},
		{"mx1example.net", false},
		{".example.net", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := p.Match(tt.host); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestPolicyText(t *testing.T) {
	p := &Policy{Mode: ModeTesting, MX: []string{"a.example", "*.b.example"}, MaxAge: 86400 * time.Second}
	text, err := p.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var q Policy
	if err := q.UnmarshalText(text); err != nil {
		t.Fatal(err)
	}
	if q.Mode != p.Mode || !slices.Equal(q.MX, p.MX) || q.MaxAge != p.MaxAge {
		t.Errorf("round trip %+v gave %+v", p, q)
	}
	if err := q.UnmarshalText([]byte("mode: none")); err == nil {
		t.Error("UnmarshalText accepted a policy without version")
	}
}

func TestSelectRecord(t *testing.T) {
	tests := []struct {
		records []string
		id      string
		wantErr error
	}{
		{[]string{"v=STSv1; id=20160831085700Z;"}, "20160831085700Z", nil},
		{[]string{"v=STSv1;id=abc"}, "abc", nil},
		{[]string{"v=STSv1 ; id=abc ;"}, "abc", nil},
		{[]string{"v=spf1 -all", "v=STSv1; id=1; ext=val!ue"}, "1", nil},
		{[]string{"v=STSv1; x-y.z=1; id=ABC123"}, "ABC123", nil},
		{nil, "", ErrNoRecord},
		{[]string{"v=spf1 -all"}, "", ErrNoRecord},
		{[]string{"v=STSv1; id=1;", "v=STSv1; id=2;"}, "", ErrNoRecord},
		{[]string{"v=STSv10; id=1;"}, "", ErrNoRecord},
		{[]string{"v=STSv1"}, "", ErrSyntax},
		{[]string{"v=STSv1;"}, "", ErrSyntax},
		{[]string{"v=STSv1; id="}, "", ErrSyntax},
		{[]string{"v=STSv1; id=a-b"}, "", ErrSyntax},
		{[]string{"v=STSv1; id=123456789012345678901234567890123"}, "", ErrSyntax},
		{[]string{"v=STSv1; id=1; id=2"}, "", ErrSyntax},
		{[]string{"v=STSv1;; id=1"}, "", ErrSyntax},
		{[]string{"v=STSv1; id=1;;"}, "", ErrSyntax},
		{[]string{"v=STSv1; ext=a=b; id=1"}, "", ErrSyntax},
		{[]string{"v=STSv1; id=1; ext"}, "", ErrSyntax},
		{[]string{"v=STSv1; ID=1"}, "", ErrSyntax},
	}
	for _, tt := range tests {
		id, err := selectRecord(tt.records)
		if id != tt.id || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("selectRecord(%q) = %q, %v; want %q, %v", tt.records, id, err, tt.id, tt.wantErr)
		}
	}
}

// FuzzParsePolicy checks that a parsed policy is valid and survives
// MarshalText and a second parse unchanged.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"))
	f.Add([]byte("version: STSv1\nmode: none\nmax_age: 0"))
	f.Add([]byte("version: STSv1\nmode: testing\nmx: a\nmax_age: 1\nx-ext: \xc3\xa9\n\n"))
	f.Add([]byte("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 9999999999\n"))
	f.Add([]byte("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 9223372037\n"))
	f.Add([]byte("version: STSv1\nmode: none\nmax_age: 31557601\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		if p.MaxAge < 0 || p.MaxAge > MaxMaxAge || (p.Mode != ModeNone && len(p.MX) == 0) {
			t.Fatalf("invalid policy %+v", p)
		}
		text, _ := p.MarshalText()
		q, err := ParsePolicy(text)
		if err != nil || q.Mode != p.Mode || !slices.Equal(q.MX, p.MX) || q.MaxAge != p.MaxAge {
			t.Fatalf("%+v marshalled as %q parsed as %+v, %v", p, text, q, err)
		}
		for _, mx := range p.MX {
			if host := strings.TrimPrefix(mx, "*."); mx == host && !p.Match(host) {
				t.Fatalf("%+v does not match its own mx %q", p, host)
			}
		}
	})
}

// FuzzParseRecord checks that an accepted TXT record has a valid id.
func FuzzParseRecord(f *testing.F) {
	f.Add("v=STSv1; id=20160831085700Z;")
	f.Add("v=STSv1 ;id=a; ext=1")
	f.Add("v=STSv1;;")
	f.Fuzz(func(t *testing.T, record string) {
		id, err := selectRecord([]string{record})
		if err != nil {
			return
		}
		if id == "" || len(id) > 32 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			t.Fatalf("selectRecord(%q) = bad id %q", record, id)
		}
	})
}
