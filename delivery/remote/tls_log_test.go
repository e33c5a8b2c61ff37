package remote

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/policy"
)

// TestTLSVerificationRecorded checks that a session says how its server was
// verified: the smtp attempt line names the level, its source, verified or
// unverified and the DANE record that matched (Postfix's "Verified TLS
// connection established", "Matched DANE EE certificate"), and a deferral
// after TLS ends with the line qmail-tls's DEBUG build adds to the report.
func TestTLSVerificationRecorded(t *testing.T) {
	tests := []struct {
		name   string
		tlsa   bool // DANE-EE record of the server's key
		level  policy.Level
		log    string
		report string
	}{
		{name: "dane", tlsa: true, log: `tls_level=dane tls_source=dane verify=verified dane="3 1 1"`,
			report: "verified under dane from dane (TLSA 3 1 1);\n"},
		{name: "may", log: `tls_level=may tls_source=default verify=unverified`,
			report: "unverified under may from default;\n"},
		{name: "encrypt", level: policy.Encrypt, log: `tls_level=encrypt tls_source=default verify=unverified`,
			report: "unverified under encrypt from default;\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTLSWorld(t)
			leaf := w.issue("mx1.example.test")
			w.dns.Add("one.test. 60 IN MX 10 mx1.example.test.", "mx1.example.test. 60 IN A 127.0.0.2")
			if tt.tlsa {
				spki := sha256.Sum256(leaf.Cert.RawSubjectPublicKeyInfo)
				w.dns.Add(fmt.Sprintf("_%d._tcp.mx1.example.test. 60 IN TLSA 3 1 1 %x", w.port, spki[:]))
				w.dns.Secure("one.test.", "example.test.")
			}
			w.server("127.0.0.2", smtptest.Config{TLS: serverTLS(leaf), Reply: stage("RCPT", 451, "4.7.1 later")})
			logs := &testlib.LogBuffer{}
			tr := w.transportOn(w.resolver(nil), Options{Logger: logs.Logger(),
				TLS: TLSOptions{Policy: w.engine(policy.Options{Default: tt.level}), DANE: true}})

			res := deliver(tr, job(1, "a@qsend.test", "b@one.test"))
			const said = "127.0.0.2 does not like recipient.\nRemote host said: 451 4.7.1 later\nSTARTTLS proto=TLSv1.3; cipher=TLS_AES_128_GCM_SHA256; subject=/O=qsend tests/CN=mx1.example.test; issuer=/O=qsend tests/CN=qsend test CA; "
			if res[0].State != store.Deferred || res[0].Text != said+tt.report {
				t.Errorf("result %v %q\nwant deferred %q", res[0].State, res[0].Text, said+tt.report)
			}
			if !strings.Contains(logs.String(), `msg="smtp attempt"`) || !strings.Contains(logs.String(), tt.log) {
				t.Errorf("the smtp attempt line lacks %s:\n%s", tt.log, logs.String())
			}
		})
	}
}
