package policy

import "testing"

func TestSTSAllows(t *testing.T) {
	sts := &STS{Mode: "enforce", MX: []string{"mx1.example.com", "*.example.net", "MX.Example.ORG."}}
	tests := []struct {
		host string
		want bool
	}{
		{"mx1.example.com", true},
		{"MX1.EXAMPLE.COM.", true},
		{"mx2.example.com", false},
		{"a.example.net", true},
		{"example.net", false},
		{"a.b.example.net", false},
		{".example.net", false},
		{"mx.example.org", true},
		{"", false},
	}
	for _, tc := range tests {
		if got := sts.Allows(tc.host); got != tc.want {
			t.Errorf("Allows(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}
