package rewrite

import "testing"

func TestRewrite(t *testing.T) {
	r, err := New("example.com",
		[]string{"example.com", "Mail.Example.com"},
		[]string{"relay.example.com"},
		[]string{"virtual.example.org:alice", "joe@exception.example.org:", ".example.org:orgs", "exception.example.org:exc", "catch.example.net:catch"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in    string
		local bool
		out   string
	}{
		{"postmaster", true, "postmaster@example.com"},
		{"joe@EXAMPLE.COM", true, "joe@EXAMPLE.COM"},
		{"joe@mail.example.com", true, "joe@mail.example.com"},
		{"joe@virtual.example.org", true, "alice-joe@virtual.example.org"},
		{"Joe@Virtual.Example.org", true, "alice-Joe@Virtual.Example.org"},
		{"x@sub.example.org", true, "orgs-x@sub.example.org"},
		{"joe@exception.example.org", false, "joe@exception.example.org"},
		{"ann@exception.example.org", true, "exc-ann@exception.example.org"},
		{"u%h@relay.example.com", false, "u@h"},
		{"u%joe%example.com@relay.example.com", true, "u%joe@example.com"},
		{"x@catch.example.net", true, "catch-x@catch.example.net"},
		{"x@elsewhere.example", false, "x@elsewhere.example"},
	}
	for _, tt := range tests {
		local, out := r.Rewrite(tt.in)
		if local != tt.local || out != tt.out {
			t.Errorf("Rewrite(%q) = %v %q, want %v %q", tt.in, local, out, tt.local, tt.out)
		}
	}
}

func TestRewriteDefault(t *testing.T) {
	r, _ := New("h.example", nil, nil, []string{":all"})
	if local, out := r.Rewrite("x@anything.example"); !local || out != "all-x@anything.example" {
		t.Fatalf("got %v %q", local, out)
	}
	if _, err := New("h", nil, nil, []string{"no-colon"}); err == nil {
		t.Fatal("a virtualdomains line without ':' was accepted")
	}
}

func FuzzRewrite(f *testing.F) {
	f.Add("a%b%c@relay.example.com", "relay.example.com", "x.example:p")
	f.Fuzz(func(t *testing.T, addr, hack, vline string) {
		r, err := New("h.example", []string{"h.example"}, []string{hack}, []string{vline})
		if err != nil {
			return
		}
		_, out := r.Rewrite(addr)
		if out == "" {
			t.Fatal("empty address")
		}
	})
}
