package setup

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/qsend/qsend/tls/certfile/certtest"
	"github.com/qsend/qsend/tls/ciphers"
)

// TestServerCiphers: without tlsserverciphers the SMTP server offers the
// AEAD suites of ciphers.ServerDefault; tlsserverciphers widens them.
func TestServerCiphers(t *testing.T) {
	def, _ := ciphers.ParseServer("")
	for _, tc := range []struct {
		files map[string]string
		want  []uint16
	}{
		{map[string]string{"me": "mx.example.org\n"}, def},
		{map[string]string{"me": "mx.example.org\n", "tlsserverciphers": "DEFAULT\n"}, nil},
	} {
		cfg := site(t, tc.files, "")
		ca := certtest.NewCA(t, "Test CA")
		ca.Issue(t, certtest.Options{CommonName: "mx.example.org", DNSNames: []string{"mx.example.org"}}).WriteFile(t, filepath.Join(cfg.ControlDir, "servercert.pem"))
		get, err := serverTLS(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := get()
		if c == nil {
			t.Fatal("no TLS with servercert.pem")
		}
		if !slices.Equal(c.CipherSuites, tc.want) {
			t.Errorf("%v: suites %v, want %v", tc.files, c.CipherSuites, tc.want)
		}
	}
}
