package ciphers

import (
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"testing"
)

// ids turns OpenSSL names into suite ids, failing the test on a typo.
func ids(t *testing.T, names ...string) []uint16 {
	t.Helper()
	var out []uint16
	for _, n := range names {
		i := byName(n)
		if i < 0 {
			t.Fatalf("no suite %q in the table", n)
		}
		out = append(out, suites[i].id)
	}
	return out
}

// secureNames are Go's secure TLS 1.2 suites in OpenSSL's "ALL" order.
var secureNames = []string{
	"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
	"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
	"ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
	"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
}

func TestParse(t *testing.T) {
	gcm := []string{
		"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
	}
	tests := []struct {
		name  string
		in    string
		want  []string // nil with wantNil: Go's defaults
		isNil bool
	}{
		{name: "empty", in: "", isNil: true},
		{name: "blank", in: "  ", isNil: true},
		{name: "DEFAULT", in: "DEFAULT", isNil: true},
		{name: "DEFAULT with exclusions", in: "DEFAULT:!aNULL:!eNULL", want: secureNames},
		{name: "qmail-tls docs HIGH:!aNULL:!MD5", in: "HIGH:!aNULL:!MD5", want: secureNames},
		{name: "HIGH:MEDIUM:!aNULL:!MD5:!RC4", in: "HIGH:MEDIUM:!aNULL:!MD5:!RC4", want: secureNames},
		{name: "ALL with removals", in: "ALL:!ADH:!LOW:!EXP:!MD5:!EXPORT:!DES:!3DES:!RC4", want: secureNames},
		{name: "Mozilla modern-ish TLS 1.2 list", in: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
			want: []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"}},
		{name: "Mozilla old list, explicit insecure suites", in: "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256:AES128-GCM-SHA256:AES128-SHA:DES-CBC3-SHA",
			want: []string{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA256", "AES128-GCM-SHA256", "AES128-SHA", "DES-CBC3-SHA"}},
		{name: "cipherli.st", in: "EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH",
			want: append(slices.Clone(gcm), "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA")},
		{name: "kEECDH+aRSA+AES256", in: "kEECDH+aRSA+AES256", want: []string{"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-SHA"}},
		{name: "ECDHE+AESGCM", in: "ECDHE+AESGCM", want: gcm},
		{name: "AESGCM", in: "AESGCM", want: gcm},
		{name: "CHACHA20", in: "CHACHA20", want: []string{"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"}},
		{name: "aECDSA", in: "aECDSA", want: []string{"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA"}},
		{name: "ECDSA+AES128", in: "ECDSA+AES128", want: []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA"}},
		{name: "aRSA+SHA1", in: "aRSA+SHA1", want: []string{"ECDHE-RSA-AES256-SHA", "ECDHE-RSA-AES128-SHA"}},
		{name: "FIPS has no ChaCha20", in: "FIPS", want: []string{"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA"}},
		{name: "AES128:AES256", in: "AES128:AES256", want: []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA"}},
		{name: "@STRENGTH sorts 256 first", in: "AES128:AES256:@STRENGTH", want: []string{"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA"}},
		{name: "+ moves to the end", in: "AESGCM:+AES256", want: []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"}},
		{name: "- allows adding again", in: "AESGCM:-aECDSA:ECDHE-ECDSA-AES128-GCM-SHA256", want: []string{"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"}},
		{name: "! is for good", in: "!aECDSA:AESGCM:ECDHE-ECDSA-AES128-GCM-SHA256", want: []string{"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256"}},
		{name: "no duplicates", in: "AESGCM:ECDHE-RSA-AES128-GCM-SHA256:HIGH", want: append(slices.Clone(gcm), "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA")},
		{name: "commas, spaces, semicolons", in: "ECDHE-RSA-AES256-GCM-SHA384, ECDHE-RSA-AES128-GCM-SHA256; ECDHE-RSA-CHACHA20-POLY1305", want: []string{"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"}},
		{name: "IANA name", in: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", want: []string{"ECDHE-RSA-AES128-GCM-SHA256"}},
		{name: "TLS 1.3 names add nothing", in: "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-RSA-AES256-GCM-SHA384", want: []string{"ECDHE-RSA-AES256-GCM-SHA384"}},
		{name: "@SECLEVEL ignored", in: "HIGH:!aNULL:@SECLEVEL=2", want: secureNames},
		{name: "unusable alias next to usable ones", in: "EXPORT:HIGH", want: secureNames},
		{name: "negated unknowns", in: "HIGH:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!PSK:!SRP:!CAMELLIA:!DHE-RSA-AES256-SHA:-NOSUCH", want: secureNames},
		{name: "MEDIUM adds nothing from Go", in: "HIGH:MEDIUM", want: secureNames},
		{name: "explicit RC4 suite", in: "RC4-SHA", want: []string{"RC4-SHA"}},
		{name: "explicit insecure plus alias in a combination", in: "AES128-SHA+kRSA", want: []string{"AES128-SHA"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if tc.isNil {
				if got != nil {
					t.Fatalf("Parse(%q) = %v, want nil", tc.in, got)
				}
				return
			}
			if want := ids(t, tc.want...); !slices.Equal(got, want) {
				t.Fatalf("Parse(%q) =\n %v\nwant\n %v", tc.in, names(got), tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		element string
		text    string
	}{
		{"DHE-RSA-AES256-SHA", "DHE-RSA-AES256-SHA", `cipher "DHE-RSA-AES256-SHA" is not supported by Go's TLS`},
		{"HIGH:DHE-RSA-AES256-SHA", "DHE-RSA-AES256-SHA", ""},
		{"ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256", ""}, // Mozilla intermediate names DHE suites
		{"aNULL", "aNULL", ""},
		{"ADH:!HIGH", "ADH", ""},
		{"EXPORT", "EXPORT", ""},
		{"RC4", "RC4", ""}, // the alias reaches only insecure suites
		{"SSLv3", "SSLv3", ""},
		{"kRSA", "kRSA", ""},
		{"RSA", "RSA", ""},
		{"COMPLEMENTOFDEFAULT", "COMPLEMENTOFDEFAULT", ""},
		{"ECDHE+SHA384", "ECDHE+SHA384", ""}, // AEAD suites do not count as SHA384 in OpenSSL
		{"HIHG", "HIHG", ""},
		{"HIGH:+NOSUCH", "NOSUCH", ""},
		{"HIGH:!HIGH", "HIGH:!HIGH", `cipher "HIGH:!HIGH" selects no cipher suite`},
		{"!ECDHE:ECDHE", "!ECDHE:ECDHE", ""},
		{"TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", ""},
		{"HIGH:@FOO", "@FOO", ""},
		{"HIGH:!@STRENGTH", "!@STRENGTH", ""},
		{"+", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %v, %v; want *Error", tc.in, names(got), err)
			}
			if e.Element != tc.element {
				t.Errorf("Parse(%q) element %q, want %q", tc.in, e.Element, tc.element)
			}
			if tc.text != "" && err.Error() != tc.text {
				t.Errorf("Parse(%q) error %q, want %q", tc.in, err, tc.text)
			}
		})
	}
}

// TestTableCoversGo keeps the table in step with crypto/tls: every TLS 1.2
// suite Go implements is listed, marked insecure exactly when Go says so.
func TestTableCoversGo(t *testing.T) {
	check := func(cs []*tls.CipherSuite) {
		for _, c := range cs {
			if slices.Equal(c.SupportedVersions, []uint16{tls.VersionTLS13}) {
				continue
			}
			i := slices.IndexFunc(suites, func(s suite) bool { return s.id == c.ID })
			if i < 0 {
				t.Errorf("%s is missing from the table", c.Name)
				continue
			}
			if got := suites[i].attrs&insecure != 0; got != c.Insecure {
				t.Errorf("%s: insecure %v in the table, Go says %v", c.Name, got, c.Insecure)
			}
		}
	}
	check(tls.CipherSuites())
	check(tls.InsecureCipherSuites())
	all, err := Parse("ALL")
	if err != nil {
		t.Fatal(err)
	}
	var want []uint16
	for _, c := range tls.CipherSuites() {
		if !slices.Contains(c.SupportedVersions, tls.VersionTLS13) {
			want = append(want, c.ID)
		}
	}
	slices.Sort(all)
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Errorf("ALL = %v, want Go's secure TLS 1.2 suites %v", names(all), names(want))
	}
}

func names(ids []uint16) string {
	var n []string
	for _, id := range ids {
		n = append(n, Name(id, tls.VersionTLS12))
	}
	return strings.Join(n, ":")
}
