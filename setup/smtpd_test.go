package setup

import (
	"context"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/smtpd"
	"github.com/qsend/qsend/smtpd/cdb"
	"github.com/qsend/qsend/smtpd/tcprules"
	"github.com/qsend/qsend/tls/certfile/certtest"
)

type nullQueue struct{}

func (nullQueue) Enqueue(context.Context, envelope.Envelope, smtpd.Origin, io.Reader) error {
	return nil
}

// site writes a control directory and loads the configuration from it.
func site(t *testing.T, files map[string]string, yaml string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	control := filepath.Join(dir, "control")
	if err := os.Mkdir(control, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(control, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "qsend.yaml")
	yaml = "state_dir: " + filepath.Join(dir, "state") + "\ncontrol_dir: " + control + "\n" + yaml
	if err := os.WriteFile(conf, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{File: conf, Environ: []string{}, UID: 0})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestOptions(t *testing.T) {
	cfg := site(t, map[string]string{
		"me":          "mx.example.org\n",
		"rcpthosts":   "example.org\n.example.org\n",
		"badmailfrom": "@spam.example\n",
		"databytes":   "1000000\n",
	}, "")
	if err := cdb.WriteFile(filepath.Join(cfg.ControlDir, "morercpthosts.cdb"), [][2][]byte{{[]byte("more.example"), nil}}, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := SMTPOptions(cfg, nullQueue{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := b.Options
	if o.Me != "mx.example.org" || o.Databytes != 1000000 || o.BadMailFrom == nil || !o.BadMailFrom.Match("x@spam.example") {
		t.Errorf("options %+v", o)
	}
	// A list that is absent is a nil Matcher, never a typed nil.
	if o.BadRcptTo != nil || o.BadHelo != nil {
		t.Error("absent lists are not nil")
	}
	for domain, want := range map[string]bool{"example.org": true, ".example.org": true, "more.example": true, "other.example": false} {
		if got := o.Rcpthosts.Contains(domain); got != want {
			t.Errorf("Contains(%s) = %v", domain, got)
		}
	}
	// No servercert.pem: no STARTTLS; a certificate installed later is
	// offered without a restart.
	if o.TLS() != nil {
		t.Error("TLS offered without servercert.pem")
	}
	ca := certtest.NewCA(t, "Test CA")
	ca.Issue(t, certtest.Options{CommonName: "mx.example.org", DNSNames: []string{"mx.example.org"}}).WriteFile(t, filepath.Join(cfg.ControlDir, "servercert.pem"))
	// The file is looked at again at most once a second.
	deadline := time.Now().Add(3 * time.Second)
	for o.TLS() == nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if o.TLS() == nil {
		t.Error("servercert.pem installed, TLS not offered")
	}
}

func TestOptionsWithoutRcpthosts(t *testing.T) {
	b, err := SMTPOptions(site(t, map[string]string{"me": "mx.example.org\n"}, ""), nullQueue{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Options.Rcpthosts != nil {
		t.Error("no rcpthosts, yet a set: smtpd would not apply its no-open-relay default")
	}
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		yaml  string
		want  string
	}{
		{"bad regex", map[string]string{"badhelo": "(\n"}, "", "badhelo ("},
		{"bad ciphers", map[string]string{"tlsserverciphers": "DHE-RSA-AES256-SHA\n"}, "", "tlsserverciphers ("},
		{"missing password file", nil, "smtpd:\n  auth_passwords: /nonexistent/passwords\n", "smtpd.auth_passwords ("},
		{"missing tcprules", nil, "smtpd:\n  tcprules: /nonexistent/tcp.smtp.cdb\n", "smtpd.tcprules ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SMTPOptions(site(t, tt.files, tt.yaml), nullQueue{}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestRules: a tcprules allow sets RELAYCLIENT, DATABYTES, TLSCIPHERS and
// NOBADHELO over what the listener knows; a deny refuses; no rule allows.
func TestRules(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tcp.smtp.cdb")
	entries, err := tcprules.ParseRules(strings.NewReader("127.0.0.1:allow,RELAYCLIENT=\"\",DATABYTES=\"500\",TLSCIPHERS=\"HIGH\",NOBADHELO=\"\"\n192.0.2.9:deny\n"), "rules")
	if err != nil {
		t.Fatal(err)
	}
	if err := tcprules.CompileFile(path, entries); err != nil {
		t.Fatal(err)
	}
	cfg := site(t, nil, "smtpd:\n  tcprules: "+path+"\n")
	b, err := SMTPOptions(cfg, nullQueue{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := smtpd.Conn{RemoteIP: netip.MustParseAddr("127.0.0.1"), ImplicitTLS: true}
	if err := b.Options.Rules(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	if !c.Relay || c.RelayClient != "" || c.Databytes != 500 || c.TLSCiphers != "HIGH" || !c.NoBadHelo || !c.ImplicitTLS {
		t.Errorf("conn after rules: %+v", c)
	}
	c = smtpd.Conn{RemoteIP: netip.MustParseAddr("192.0.2.9")}
	if err := b.Options.Rules(context.Background(), &c); err == nil {
		t.Error("deny rule allowed the client")
	}
	c = smtpd.Conn{RemoteIP: netip.MustParseAddr("198.51.100.1")}
	if err := b.Options.Rules(context.Background(), &c); err != nil || c.Relay {
		t.Errorf("no rule: %v, %+v", err, c)
	}
}

// TestOptionsAttackLimits: the attack limits reach the server; a key's 0
// ("none") is smtpd's negative value.
func TestOptionsAttackLimits(t *testing.T) {
	cfg := site(t, map[string]string{"me": "mx.example.org\n"},
		"smtpd:\n  session_timeout: 0\n  min_data_rate: 2000\n  relay_reserve: 0.25\n  busy_idle_timeout: 0\n  auth_concurrency: 1\n")
	b, err := SMTPOptions(cfg, nullQueue{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := b.Options
	if o.SessionTimeout >= 0 || o.BusyIdleTimeout >= 0 || o.MinDataRate != 2000 || o.RelayReserve != 0.25 ||
		o.MaxAuthConcurrent != 1 || o.DataGrace != 300*time.Second {
		t.Errorf("session %v, busy idle %v, rate %d, reserve %v, auth %d, grace %v",
			o.SessionTimeout, o.BusyIdleTimeout, o.MinDataRate, o.RelayReserve, o.MaxAuthConcurrent, o.DataGrace)
	}
}
