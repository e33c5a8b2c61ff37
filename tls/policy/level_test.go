package policy

import "testing"

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in       string
		want     Level
		requires bool
	}{
		{"none", None, false},
		{"may", May, false},
		{"encrypt", Encrypt, true},
		{"verify", Verify, true},
		{"secure", Secure, true},
		{"dane", Dane, true},
		{"dane-only", DaneOnly, true},
		{"fingerprint", Fingerprint, true},
		{" Verify ", Verify, true},
	}
	for _, tc := range tests {
		got, err := ParseLevel(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		if got.RequiresTLS() != tc.requires {
			t.Errorf("%v.RequiresTLS() = %v", got, !tc.requires)
		}
		if back, _ := ParseLevel(got.String()); back != got {
			t.Errorf("%v does not round-trip through String", got)
		}
	}
	for _, bad := range []string{"", "verfy", "dane_only", "secure1"} {
		if _, err := ParseLevel(bad); err == nil {
			t.Errorf("ParseLevel(%q) succeeded", bad)
		}
	}
	if Level(0).RequiresTLS() || Level(0).String() != "" {
		t.Error("the zero Level is not unset")
	}
}
