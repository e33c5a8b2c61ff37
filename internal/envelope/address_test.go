package envelope

import "testing"

func TestVERPSender(t *testing.T) {
	tests := []struct{ sender, rcpt, want string }{
		{"owner-@lists.example-@[]", "box@remote.example", "owner-box=remote.example@lists.example"},
		{"owner@lists.example", "box@remote.example", ""},
		{"", "box@remote.example", ""},
	}
	for _, tt := range tests {
		if got := VERPSender(tt.sender, tt.rcpt); got != tt.want {
			t.Errorf("VERPSender(%q, %q) = %q, want %q", tt.sender, tt.rcpt, got, tt.want)
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		addr, local, domain string
		found               bool
	}{
		{"box@example.com", "box", "example.com", true},
		{`"a@b"@example.com`, `"a@b"`, "example.com", true},
		{"box@", "box", "", true},
		{"postmaster", "postmaster", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		local, domain, found := Split(tt.addr)
		if local != tt.local || domain != tt.domain || found != tt.found {
			t.Errorf("Split(%q) = %q %q %v, want %q %q %v", tt.addr, local, domain, found, tt.local, tt.domain, tt.found)
		}
	}
}
