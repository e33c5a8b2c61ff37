package dovecottest

import (
	"strings"
	"testing"
)

func TestUserNames(t *testing.T) {
	tests := []struct {
		in      []string
		want    string
		wantErr bool
	}{
		{[]string{"alice", "Bob"}, "alice,bob", false},
		{nil, "", false},
		{[]string{""}, "", true},
		{[]string{"a@b"}, "", true},
		{[]string{"a:b"}, "", true},
		{[]string{"../etc"}, "", true},
		{[]string{"a b"}, "", true},
	}
	for _, tt := range tests {
		got, err := userNames(tt.in)
		if (err != nil) != tt.wantErr || strings.Join(got, ",") != tt.want {
			t.Errorf("userNames(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
