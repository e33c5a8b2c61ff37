package setup

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/delivery/bounce"
	"github.com/qsend/qsend/delivery/local"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/smtpd"
	"github.com/qsend/qsend/tls/mtasts"
)

// mxSite is a site whose only control file is me.
func mxSite(t *testing.T, yaml string) *config.Config {
	t.Helper()
	return site(t, map[string]string{"me": "mx.example.org\n"}, yaml)
}

// TestSchedulerOptions: the typed keys reach the scheduler as its own
// values, and the defaults are qmail's.
func TestSchedulerOptions(t *testing.T) {
	o := SchedulerOptions(mxSite(t, ""))
	if o.BounceTLSOnExpiry || o.Bounce.Format != bounce.FormatQmail || o.ConcurrencyRemote != 80 ||
		o.Bounce.BounceFrom != "MAILER-DAEMON" || o.Bounce.BounceHost != "mx.example.org" {
		t.Errorf("defaults: %+v", o)
	}
	o = SchedulerOptions(mxSite(t, "tls:\n  on_expiry: bounce\nbounce:\n  format: dsn\nconcurrencyremote: 5\n"))
	if !o.BounceTLSOnExpiry || o.Bounce.Format != bounce.FormatDSN || o.ConcurrencyRemote != 20 {
		t.Errorf("set: %+v", o)
	}
}

// TestRetry: retry.schedule exponential waits retry.initial, doubling.
func TestRetry(t *testing.T) {
	retry, err := Retry(mxSite(t, "retry:\n  schedule: exponential\n  initial: 1m\n  max: 1h\n  jitter: 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 10: time.Hour} {
		d := delivery.Deferral{Channel: delivery.Remote, Born: end.Add(-time.Hour), Start: end, End: end, N: n}
		if got := retry(d).Sub(end); got != want {
			t.Errorf("deferral %d: waits %v, want %v", n, got, want)
		}
	}
}

// TestLocalOptions: local.transport and local.domains become local
// delivery's methods.
func TestLocalOptions(t *testing.T) {
	cfg := mxSite(t, "local:\n  transport: lmtp\n  lmtp: unix:/run/dovecot/lmtp\n  domains:\n"+
		"    - {domain: Lists.Example.org, transport: command, command: [/bin/true]}\n"+
		"    - {domain: mail.example.org}\n")
	rules, err := Rules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o := LocalOptions(cfg, rules, nil)
	if o.Default.Kind != local.KindLMTP || o.Default.LMTP != "unix:/run/dovecot/lmtp" {
		t.Errorf("default method %+v", o.Default)
	}
	if m := o.Domains["lists.example.org"]; m.Kind != local.KindCommand || len(m.Command) != 1 {
		t.Errorf("lists.example.org: %+v", m)
	}
	if m := o.Domains["mail.example.org"]; m.Kind != local.KindMaildir || m.Maildir != "~/Maildir/" {
		t.Errorf("mail.example.org: %+v", m)
	}
	route := Route(rules)
	if route("joe@mx.example.org") != delivery.Local || route("joe@example.net") != delivery.Remote {
		t.Error("route: me is not local or another domain is")
	}
}

// TestListenerMode: each smtpd.listen mode is the server's.
func TestListenerMode(t *testing.T) {
	for m, want := range map[config.ListenerMode]smtpd.Mode{
		config.ModeSMTP: smtpd.ModeSMTP, config.ModeSubmission: smtpd.ModeSubmission, config.ModeSMTPS: smtpd.ModeSMTPS,
	} {
		if got := ListenerMode(m); got != want {
			t.Errorf("%s: %v, want %v", m, got, want)
		}
	}
}

// TestRemote: tls.mta_sts and tls.dane off leave remote delivery without
// MTA-STS and DANE; on by default.
func TestRemote(t *testing.T) {
	for _, tc := range []struct {
		yaml      string
		sts, dane bool
	}{
		{"", true, true},
		{"tls:\n  mta_sts: off\n  dane: off\n", false, false},
	} {
		cfg := mxSite(t, tc.yaml)
		r, err := mx.New(mx.Options{Me: cfg.Me})
		if err != nil {
			t.Fatal(err)
		}
		eng, err := TLSPolicy(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		ro, sts, err := Remote(cfg, r, eng, &mtasts.MemoryCache{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := ro.TLS
		if (sts != nil) != tc.sts || (o.STS != nil) != tc.sts || o.DANE != tc.dane || o.PlaintextAfter != 5*time.Minute ||
			ro.Sessions != 20 || ro.MaxWaiting != 60 || ro.Port != 25 {
			t.Errorf("%q: sts %v, dane %v, plaintext after %v, %+v", tc.yaml, o.STS != nil, o.DANE, o.PlaintextAfter, ro)
		}
	}
}

// TestLogger: each log.format writes its own layout.
func TestLogger(t *testing.T) {
	for format, want := range map[config.LogFormat]string{
		config.LogText: "level=INFO msg=hello", config.LogJSON: `"msg":"hello"`,
	} {
		var b bytes.Buffer
		log, err := Logger(&b, format, new(slog.LevelVar))
		if err != nil {
			t.Fatal(err)
		}
		log.Info("hello")
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s: %q", format, b.String())
		}
	}
	if _, err := Logger(&bytes.Buffer{}, config.LogQmail, new(slog.LevelVar)); err != nil {
		t.Error(err)
	}
	if _, err := Logger(&bytes.Buffer{}, "xml", new(slog.LevelVar)); err == nil {
		t.Error("log.format xml: no error")
	}
}
