package config

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c, dir, err := fixture{}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ key, value, origin string }{
		{"state_dir", "/var/spool/qsend", "default"},
		{"control_dir", dir + "/control", "environment QSEND_CONTROL_DIR"},
		{"admin_group", `""`, "default"},
		{"log.format", "text", "default"},
		{"log.level", "info", "default"},
		{"store.batch_delay", "1ms", "default"},
		{"dns.resolvers", "", "default"},
		{"dns.trusted_resolvers", "", "default"},
		{"remote.port", "25", "default"},
		{"remote.destination_concurrency", "20", "default"},
		{"remote.helo_timeout", "5m", "default"},
		{"remote.starttls_timeout", "5m", "default"},
		{"remote.mail_timeout", "5m", "default"},
		{"remote.rcpt_timeout", "5m", "default"},
		{"remote.data_init_timeout", "2m", "default"},
		{"remote.data_xfer_timeout", "3m", "default"},
		{"remote.min_data_rate", "500", "default"},
		{"remote.data_done_timeout", "10m", "default"},
		{"remote.session_timeout", "1h", "default"},
		{"smtpd.listen", "[{address: '127.0.0.1:2525', mode: smtp}]", "default"},
		{"metrics.listen", `""`, "default"},
		{"tls.policy", "[]", "default"},
		{"tls.default_level", "may", "default"},
		{"tls.min_version", `"1.2"`, "default"},
		{"tls.on_expiry", "hold", "default"},
		{"tls.plaintext_after", "5m", "default"},
		{"tls.remember_broken", "1h", "default"},
		{"tls.mta_sts", "on", "default"},
		{"tls.mta_sts_ca", `""`, "default"},
		{"tls.dane", "on", "default"},
		{"tls.client_cert", `""`, "default"},
		{"tls.server_cert", `""`, "default"},
		{"tls.client_ca", `""`, "default"},
		{"tls.client_crl", `""`, "default"},
		{"smtpd.qmailqueue", `""`, "default"},
		{"smtpd.tcprules", `""`, "default"},
		{"smtpd.auth_checkpassword", "", "default"},
		{"smtpd.auth_passwords", `""`, "default"},
		{"smtpd.auth_without_tls", "never", "default"},
		{"smtpd.auth_max_failures", "10", "default"},
		{"smtpd.auth_fail_delay", "1s", "default"},
		{"smtpd.bare_lf", "reject", "default"},
		{"smtpd.max_line", "4096", "default"},
		{"smtpd.max_rcpts", "1000", "default"},
		{"smtpd.max_header", "102400", "default"},
		{"smtpd.max_errors", "20", "default"},
		{"smtpd.max_connections", "10000", "default"},
		{"smtpd.max_per_client", "50", "default"},
		{"smtpd.auth_concurrency", "2", "default"},
		{"smtpd.relay_reserve", "0.1", "default"},
		{"smtpd.busy_idle_timeout", "10s", "default"},
		{"smtpd.session_timeout", "1h", "default"},
		{"smtpd.min_data_rate", "500", "default"},
		{"smtpd.data_grace", "5m", "default"},
		{"local.transport", "maildir", "default"},
		{"local.maildir", "~/Maildir/", "default"},
		{"local.lmtp", `""`, "default"},
		{"local.command", "", "default"},
		{"local.user", `""`, "default"},
		{"local.domains", "[]", "default"},
		{"dkim.keys", "[]", "default"},
		{"retry.schedule", "qmail", "default"},
		{"retry.initial", "5m", "default"},
		{"retry.max", "4h", "default"},
		{"retry.jitter", "0.2", "default"},
		{"bounce.format", "qmail", "default"},
		{"bounce.max_body", "1048576", "default"},
		{"bounce.delay_warning", "0s", "default"},
		{"me", "host.example", "default (hostname)"},
		{"defaultdomain", "host.example", "default (me)"},
		{"defaulthost", "host.example", "default (me)"},
		{"plusdomain", "host.example", "default (me)"},
		{"idhost", "host.example", "default (me)"},
		{"locals", "[host.example]", "default (me)"},
		{"rcpthosts", "", "default"},
		{"morercpthosts", "", "default"},
		{"virtualdomains", "", "default"},
		{"percenthack", "", "default"},
		{"smtproutes", "", "default"},
		{"helohost", "host.example", "default (me)"},
		{"smtpgreeting", "host.example", "default (me)"},
		{"localiphost", "host.example", "default (me)"},
		{"timeoutconnect", "1m", "default"},
		{"timeoutremote", "20m", "default"},
		{"timeoutsmtpd", "20m", "default"},
		{"databytes", "0", "default"},
		{"queuelifetime", "168h", "default"},
		{"concurrencylocal", "10", "default"},
		{"concurrencyremote", "20", "default"},
		{"bouncefrom", "MAILER-DAEMON", "default"},
		{"bouncehost", "host.example", "default (me)"},
		{"doublebounceto", "postmaster", "default"},
		{"doublebouncehost", "host.example", "default (me)"},
		{"envnoathost", "host.example", "default (me)"},
		{"badmailfrom", "", "default"},
		{"badrcptto", "", "default"},
		{"badhelo", "", "default"},
		{"badmailfromnorelay", "", "default"},
		{"badrcpttonorelay", "", "default"},
		{"tlsclientciphers", "", "default"},
		{"tlsserverciphers", "", "default"},
	}
	if len(tests) != len(keys) {
		t.Errorf("%d keys tested, %d in the table", len(tests), len(keys))
	}
	for _, tt := range tests {
		v, o := lookup(t, c, tt.key)
		if v != tt.value || o != tt.origin {
			t.Errorf("%s = %q # %s; want %q # %s", tt.key, v, o, tt.value, tt.origin)
		}
	}
	// The typed fields.
	if c.RcptHosts != nil || c.TimeoutRemote != 1200*time.Second || c.QueueLifetime != 604800*time.Second ||
		c.LogLevel != slog.LevelInfo || c.StoreBatchDelay != time.Millisecond || c.ConcurrencyRemote != 20 ||
		!reflect.DeepEqual(c.SMTPDListen, []Listener{{"127.0.0.1:2525", "smtp"}}) || c.File != "" {
		t.Errorf("typed defaults wrong: %+v", c)
	}
}

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name   string
		f      fixture
		key    string
		value  string
		origin string // "$T" is the temporary directory
	}{
		{"default", fixture{}, "concurrencyremote", "20", "default"},
		{"control file", fixture{control: map[string]string{"concurrencyremote": "50\n"}},
			"concurrencyremote", "50", "control file $T/control/concurrencyremote:1"},
		{"yaml beats control", fixture{control: map[string]string{"concurrencyremote": "50\n"},
			yaml: "# comment\nconcurrencyremote: 60\n"},
			"concurrencyremote", "60", "config file $T/qsend.yaml:2"},
		{"env beats yaml", fixture{control: map[string]string{"concurrencyremote": "50\n"},
			yaml: "concurrencyremote: 60\n", env: []string{"QSEND_CONCURRENCYREMOTE=70"}},
			"concurrencyremote", "70", "environment QSEND_CONCURRENCYREMOTE"},
		{"flag beats env", fixture{yaml: "concurrencyremote: 60\n", env: []string{"QSEND_CONCURRENCYREMOTE=70"},
			args: []string{"--set", "concurrencyremote=80"}},
			"concurrencyremote", "80", "flag --set concurrencyremote"},
		{"last --set wins", fixture{args: []string{"--set", "concurrencyremote=80", "--set=concurrencyremote=90"}},
			"concurrencyremote", "90", "flag --set concurrencyremote"},
		{"overridden bad control file is not read", fixture{control: map[string]string{"concurrencyremote": "abc\n"},
			env: []string{"QSEND_CONCURRENCYREMOTE=70"}},
			"concurrencyremote", "70", "environment QSEND_CONCURRENCYREMOTE"},
		{"state-dir flag", fixture{yaml: "state_dir: /srv/a\n", args: []string{"--state-dir", "/srv/b"}},
			"state_dir", "/srv/b", "flag --state-dir"},
		{"control-dir flag", fixture{args: []string{"--control-dir=/nonexistent/control"}},
			"control_dir", "/nonexistent/control", "flag --control-dir"},
		{"log-format flag", fixture{env: []string{"QSEND_LOG_FORMAT=json"}, args: []string{"--log-format", "qmail"}},
			"log.format", "qmail", "flag --log-format"},
		{"log-level flag", fixture{args: []string{"--log-level", "DEBUG"}}, "log.level", "debug", "flag --log-level"},
		{"nested yaml", fixture{yaml: "log:\n  format: json\n  level: warn\n"}, "log.level", "warn", "config file $T/qsend.yaml:3"},
		{"control dir from yaml", fixture{control: map[string]string{"me": "a.example\n"},
			yaml: "control_dir: /nonexistent\n", env: []string{"QSEND_CONTROL_DIR="}},
			"me", "", ""}, // QSEND_CONTROL_DIR= is invalid; see TestErrors
		{"me from yaml feeds defaults", fixture{control: map[string]string{"me": "ctl.example\n"}, yaml: "me: yaml.example\n"},
			"helohost", "yaml.example", "default (me)"},
		{"me from control feeds defaults", fixture{control: map[string]string{"me": "ctl.example\n"}},
			"bouncehost", "ctl.example", "default (me)"},
		{"me from env feeds locals", fixture{env: []string{"QSEND_ME=env.example"}},
			"locals", "[env.example]", "default (me)"},
		{"control file beats me default", fixture{control: map[string]string{"me": "ctl.example\n", "bouncehost": "b.example\n"},
			yaml: "me: yaml.example\n"},
			"bouncehost", "b.example", "control file $T/control/bouncehost:1"},
		{"control list", fixture{control: map[string]string{"rcpthosts": "# ours\na.example\n\n.a.example\n"}},
			"rcpthosts", "[a.example, .a.example]", "control file $T/control/rcpthosts"},
		{"empty control list", fixture{control: map[string]string{"rcpthosts": "# none\n"}},
			"rcpthosts", "[]", "control file $T/control/rcpthosts"},
		{"empty yaml list", fixture{control: map[string]string{"rcpthosts": "a.example\n"}, yaml: "rcpthosts: []\n"},
			"rcpthosts", "[]", "config file $T/qsend.yaml:1"},
		{"empty env list", fixture{env: []string{"QSEND_RCPTHOSTS="}}, "rcpthosts", "[]", "environment QSEND_RCPTHOSTS"},
		{"control first line only", fixture{control: map[string]string{"me": "one.example\ntwo.example\n"}},
			"me", "one.example", "control file $T/control/me:1"},
		{"control trailing whitespace", fixture{control: map[string]string{"concurrencyremote": "50 \t\r\n"}},
			"concurrencyremote", "50", "control file $T/control/concurrencyremote:1"},
		{"control value without newline", fixture{control: map[string]string{"bouncefrom": "mailer"}},
			"bouncefrom", "mailer", "control file $T/control/bouncefrom:1"},
		{"control locals keeps me out", fixture{control: map[string]string{"me": "m.example\n", "locals": "l.example\n"}},
			"locals", "[l.example]", "control file $T/control/locals"},
		{"missing control dir", fixture{env: []string{"QSEND_CONTROL_DIR=$T/none"}},
			"me", "host.example", "default (hostname)"},
		{"qmail seconds", fixture{control: map[string]string{"queuelifetime": "86400\n"}},
			"queuelifetime", "24h", "control file $T/control/queuelifetime:1"},
		{"yaml duration", fixture{yaml: "timeoutremote: 90s\n"}, "timeoutremote", "1m30s", "config file $T/qsend.yaml:1"},
		{"yaml seconds", fixture{yaml: "timeoutremote: 90\n"}, "timeoutremote", "1m30s", "config file $T/qsend.yaml:1"},
		{"doublebounceto empty first line", fixture{control: map[string]string{"doublebounceto": "\npostmaster\n"}},
			"doublebounceto", `""`, "control file $T/control/doublebounceto:1"},
		{"empty string in yaml", fixture{yaml: "doublebounceto: \"\"\n"}, "doublebounceto", `""`, "config file $T/qsend.yaml:1"},
		{"alias", fixture{yaml: "me: &m a.example\nhelohost: *m\n"}, "helohost", "a.example", "config file $T/qsend.yaml:2"},
		{"empty yaml file", fixture{yaml: "# nothing yet\n"}, "concurrencyremote", "20", "default"},
		{"listeners", fixture{yaml: "smtpd:\n  listen:\n    - address: \":25\"\n    - {address: \"[::1]:587\", mode: submission}\n"},
			"smtpd.listen", `[{address: ':25', mode: smtp}, {address: '[::1]:587', mode: submission}]`, "config file $T/qsend.yaml:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, dir, err := tt.f.run(t)
			if tt.origin == "" {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v, o := lookup(t, c, tt.key)
			want := strings.ReplaceAll(tt.origin, "$T", dir)
			if v != tt.value || o != want {
				t.Errorf("%s = %q # %s; want %q # %s", tt.key, v, o, tt.value, want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		f    fixture
		want []string // the error's lines; "$T" is the temporary directory
	}{
		{"control not a number", fixture{control: map[string]string{"concurrencyremote": "abc\n"}},
			[]string{`$T/control/concurrencyremote:1: not a number: "abc"`}},
		{"control out of range", fixture{control: map[string]string{"concurrencyremote": "70000\n"}},
			[]string{`$T/control/concurrencyremote:1: 70000 is out of range 0..65535`}},
		{"control timeout zero", fixture{control: map[string]string{"timeoutconnect": "0\n"}},
			[]string{`$T/control/timeoutconnect:1: 0s is out of range: at least 1s`}},
		{"control directory named like the file", fixture{control: map[string]string{"me": "<dir>"}},
			[]string{`$T/control/me: read: is a directory`}},
		{"control list with control character", fixture{control: map[string]string{"locals": "a.example\nb\x00x\n"}},
			[]string{`$T/control/locals:2: control character '\x00' in "b\x00x"`}},
		{"empty me", fixture{control: map[string]string{"me": "\n"}},
			[]string{`$T/control/me:1: me must not be empty`}},
		{"yaml not a number", fixture{yaml: "me: a.example\n\nconcurrencyremote: abc\n"},
			[]string{`$T/qsend.yaml: line 3: key concurrencyremote: not a number: "abc"`}},
		{"yaml retry schedule", fixture{yaml: "retry:\n  schedule: linear\n"},
			[]string{`$T/qsend.yaml: line 2: key retry.schedule: "linear" is not one of qmail, exponential`}},
		{"yaml jitter too big", fixture{yaml: "retry:\n  jitter: 1.5\n"},
			[]string{`$T/qsend.yaml: line 2: key retry.jitter: 1.5 is out of range 0..1`}},
		{"yaml jitter negative", fixture{yaml: "retry:\n  jitter: -0.1\n"},
			[]string{`$T/qsend.yaml: line 2: key retry.jitter: -0.1 is out of range 0..1`}},
		{"yaml jitter NaN", fixture{yaml: "retry:\n  jitter: NaN\n"},
			[]string{`$T/qsend.yaml: line 2: key retry.jitter: NaN is out of range 0..1`}},
		{"yaml jitter text", fixture{yaml: "retry:\n  jitter: some\n"},
			[]string{`$T/qsend.yaml: line 2: key retry.jitter: not a number: "some"`}},
		{"yaml retry initial zero", fixture{yaml: "retry:\n  initial: 0\n"},
			[]string{`$T/qsend.yaml: line 2: key retry.initial: 0s is out of range: at least 1s`}},
		{"yaml bounce format", fixture{yaml: "bounce:\n  format: mime\n"},
			[]string{`$T/qsend.yaml: line 2: key bounce.format: "mime" is not one of qmail, dsn`}},
		{"yaml delay warning", fixture{yaml: "bounce:\n  delay_warning: soon\n"},
			[]string{`$T/qsend.yaml: line 2: key bounce.delay_warning: not a duration: "soon" (want Go syntax like "90s" or whole seconds)`}},
		{"yaml unknown key", fixture{yaml: "concurrencyremot: 5\n"},
			[]string{`$T/qsend.yaml: line 1: unknown key concurrencyremot`}},
		{"yaml unknown nested key", fixture{yaml: "dns:\n  resolverz: [\"192.0.2.1:53\"]\n"},
			[]string{`$T/qsend.yaml: line 2: unknown key dns.resolverz`}},
		{"yaml section not a mapping", fixture{yaml: "log: json\n"},
			[]string{`$T/qsend.yaml: line 1: key log: want a mapping of keys below log`}},
		{"yaml dotted key", fixture{yaml: "log.format: json\n"},
			[]string{`$T/qsend.yaml: line 1: unknown key log.format`}},
		{"yaml syntax error", fixture{yaml: "me: a\n  b: c\n"},
			[]string{`$T/qsend.yaml: line 2: mapping values are not allowed in this context`}},
		{"yaml duplicate key", fixture{yaml: "me: a\nme: b\n"},
			[]string{`$T/qsend.yaml: line 2: key me: already set at line 1`}},
		{"yaml no value", fixture{yaml: "doublebounceto:\n"},
			[]string{`$T/qsend.yaml: line 1: key doublebounceto: no value (write "" for an empty string, [] for an empty list)`}},
		{"yaml list for string", fixture{yaml: "me: [a, b]\n"},
			[]string{`$T/qsend.yaml: line 1: key me: want a single value, not a list`}},
		{"yaml string for list", fixture{yaml: "locals: a.example\n"},
			[]string{`$T/qsend.yaml: line 1: key locals: want a list ([a, b] or one "- item" per line)`}},
		{"yaml bad resolver names its line", fixture{yaml: "dns:\n  resolvers:\n    - 192.0.2.1:53\n    - 192.0.2.2\n"},
			[]string{`$T/qsend.yaml: line 4: key dns.resolvers: "192.0.2.2" is not host:port`}},
		{"yaml resolver port not numeric", fixture{yaml: "dns:\n  resolvers: [\"192.0.2.1:domain\"]\n"},
			[]string{`$T/qsend.yaml: line 2: key dns.resolvers: "192.0.2.1:domain": port "domain" is not a number in 1..65535`}},
		{"yaml bad listener mode", fixture{yaml: "smtpd:\n  listen:\n    - {address: \":25\", mode: lmtp}\n"},
			[]string{`$T/qsend.yaml: line 3: key smtpd.listen: listener :25: mode "lmtp" is not one of smtp, submission, smtps`}},
		{"yaml unknown listener field", fixture{yaml: "smtpd:\n  listen:\n    - address: \":25\"\n      tls: yes\n"},
			[]string{`$T/qsend.yaml: line 3: key smtpd.listen: unknown listener field "tls" (want address and mode)`}},
		{"yaml duplicate listener", fixture{yaml: "smtpd:\n  listen: [{address: \":25\"}, {address: \":25\", mode: smtps}]\n"},
			[]string{`$T/qsend.yaml: line 2: key smtpd.listen: listener :25: address listed twice`}},
		{"yaml batch delay too long", fixture{yaml: "store:\n  batch_delay: 2s\n"},
			[]string{`$T/qsend.yaml: line 2: key store.batch_delay: 2s is out of range 0s..1s`}},
		{"yaml bad duration", fixture{yaml: "queuelifetime: 1 week\n"},
			[]string{`$T/qsend.yaml: line 1: key queuelifetime: not a duration: "1 week" (want Go syntax like "90s" or whole seconds)`}},
		{"yaml negative queuelifetime", fixture{yaml: "queuelifetime: -1h\n"},
			[]string{`$T/qsend.yaml: line 1: key queuelifetime: -1h is out of range: at least 0s`}},
		{"yaml bad log format", fixture{yaml: "log: {format: xml}\n"},
			[]string{`$T/qsend.yaml: line 1: key log.format: "xml" is not one of text, json, qmail`}},
		{"yaml remote port", fixture{yaml: "remote:\n  port: 0\n"},
			[]string{`$T/qsend.yaml: line 2: key remote.port: 0 is out of range 1..65535`}},
		{"yaml relative state dir", fixture{yaml: "state_dir: spool\n"},
			[]string{`$T/qsend.yaml: line 1: key state_dir: not an absolute path: "spool"`}},
		{"yaml metrics listen", fixture{yaml: "metrics: {listen: localhost}\n"},
			[]string{`$T/qsend.yaml: line 1: key metrics.listen: "localhost" is not host:port`}},
		{"yaml newline in value", fixture{yaml: "helohost: \"a\\r\\nQUIT\"\n"},
			[]string{`$T/qsend.yaml: line 1: key helohost: control character '\r' in "a\r\nQUIT"`}},
		{"yaml two documents", fixture{yaml: "me: a\n---\nme: b\n"},
			[]string{`$T/qsend.yaml: line 2: a second YAML document; the file must hold one`}},
		{"yaml not a mapping", fixture{yaml: "- me\n"},
			[]string{`$T/qsend.yaml: line 1: want a mapping of keys to values`}},
		{"env unknown variable", fixture{env: []string{"QSEND_STATEDIR=/x"}},
			[]string{`QSEND_STATEDIR: unknown variable (no such key)`}},
		{"env not a number", fixture{env: []string{"QSEND_CONCURRENCYREMOTE=abc"}},
			[]string{`QSEND_CONCURRENCYREMOTE: not a number: "abc"`}},
		{"env empty control dir", fixture{env: []string{"QSEND_CONTROL_DIR="}},
			[]string{`QSEND_CONTROL_DIR: not an absolute path: ""`}},
		{"env bad listener", fixture{env: []string{"QSEND_SMTPD_LISTEN=:25=lmtp"}},
			[]string{`QSEND_SMTPD_LISTEN: listener :25: mode "lmtp" is not one of smtp, submission, smtps`}},
		{"flag --set unknown key", fixture{args: []string{"--set", "nosuch=1"}},
			[]string{`flag --set nosuch: unknown key`}},
		{"flag --set without value", fixture{args: []string{"--set", "concurrencyremote"}},
			[]string{`flag --set "concurrencyremote": want KEY=VALUE`}},
		{"flag --set not a number", fixture{args: []string{"--set", "concurrencyremote=abc"}},
			[]string{`flag --set concurrencyremote: not a number: "abc"`}},
		{"flag relative state dir", fixture{args: []string{"--state-dir", "spool"}},
			[]string{`flag --state-dir: not an absolute path: "spool"`}},
		{"flag bad level", fixture{args: []string{"--log-level", "loud"}},
			[]string{`flag --log-level: unknown log level "loud" (want debug, info, warn or error)`}},
		{"flag and --set for one key", fixture{args: []string{"--state-dir", "/a", "--set", "state_dir=/b"}},
			[]string{`flag --set state_dir: also set by flag --state-dir`}},
		{"explicit file missing", fixture{env: []string{"QSEND_CONFIG=$T/nonexistent.yaml"}},
			[]string{`config file: open $T/nonexistent.yaml: no such file or directory`}},
		{"every problem listed", fixture{
			control: map[string]string{"concurrencylocal": "x\n", "timeoutsmtpd": "0\n"},
			yaml:    "concurrencyremote: abc\nbogus: 1\n",
			env:     []string{"QSEND_BOGUS=1", "QSEND_DATABYTES=-1"},
			args:    []string{"--set", "remote.port=0"},
		}, []string{
			`$T/qsend.yaml: line 1: key concurrencyremote: not a number: "abc"`,
			`$T/qsend.yaml: line 2: unknown key bogus`,
			`QSEND_BOGUS: unknown variable (no such key)`,
			`QSEND_DATABYTES: not a number: "-1"`,
			`flag --set remote.port: 0 is out of range 1..65535`,
			`$T/control/timeoutsmtpd:1: 0s is out of range: at least 1s`,
			`$T/control/concurrencylocal:1: not a number: "x"`,
		}},
		{"errors in overridden values still count", fixture{yaml: "concurrencyremote: abc\n", env: []string{"QSEND_CONCURRENCYREMOTE=5"}},
			[]string{`$T/qsend.yaml: line 1: key concurrencyremote: not a number: "abc"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, dir, err := tt.f.run(t)
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			if c != nil {
				t.Error("a Config with an error")
			}
			want := strings.ReplaceAll(strings.Join(tt.want, "\n"), "$T", dir)
			if err.Error() != want {
				t.Errorf("error:\n%s\nwant:\n%s", err, want)
			}
		})
	}
}

func TestUnreadableControlFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can read a mode 000 file; see the directory case in TestErrors")
	}
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/rcpthosts", []byte("a.example\n"), 0); err != nil {
		t.Fatal(err)
	}
	_, err := Load(Options{UID: 1000, Hostname: "h", DefaultFile: dir + "/none.yaml",
		Environ: []string{"HOME=/h", "QSEND_CONTROL_DIR=" + dir}})
	if err == nil || err.Error() != dir+"/rcpthosts: open: permission denied" {
		t.Errorf("error = %v", err)
	}
}

func TestEnvSyntax(t *testing.T) {
	tests := []struct {
		env   string
		key   string
		value string
	}{
		{"QSEND_DNS_RESOLVERS=192.0.2.1:53,192.0.2.2:53", "dns.resolvers", "['192.0.2.1:53', '192.0.2.2:53']"},
		{"QSEND_DNS_RESOLVERS=192.0.2.1:53 [2001:db8::1]:53", "dns.resolvers", "['192.0.2.1:53', '[2001:db8::1]:53']"},
		{"QSEND_DNS_RESOLVERS= 192.0.2.1:53 ,\t192.0.2.2:53 ", "dns.resolvers", "['192.0.2.1:53', '192.0.2.2:53']"},
		{"QSEND_DNS_RESOLVERS=", "dns.resolvers", "[]"},
		{"QSEND_SMTPROUTES=# routes\n:relay.example:2525\n\nexample.org:\n", "smtproutes", "[':relay.example:2525', 'example.org:']"},
		{"QSEND_SMTPD_LISTEN=0.0.0.0:25=smtp,0.0.0.0:587=submission 0.0.0.0:465=smtps", "smtpd.listen",
			"[{address: '0.0.0.0:25', mode: smtp}, {address: '0.0.0.0:587', mode: submission}, {address: '0.0.0.0:465', mode: smtps}]"},
		{"QSEND_SMTPD_LISTEN=:2525", "smtpd.listen", "[{address: ':2525', mode: smtp}]"},
		{"QSEND_QUEUELIFETIME=3600", "queuelifetime", "1h"},
		{"QSEND_RETRY_SCHEDULE=exponential", "retry.schedule", "exponential"},
		{"QSEND_RETRY_INITIAL=60", "retry.initial", "1m"},
		{"QSEND_RETRY_MAX=1h30m", "retry.max", "1h30m"},
		{"QSEND_RETRY_JITTER=0", "retry.jitter", "0"},
		{"QSEND_RETRY_JITTER=1", "retry.jitter", "1"},
		{"QSEND_RETRY_JITTER=.35", "retry.jitter", "0.35"},
		{"QSEND_BOUNCE_FORMAT=dsn", "bounce.format", "dsn"},
		{"QSEND_BOUNCE_MAX_BODY=0", "bounce.max_body", "0"},
		{"QSEND_BOUNCE_DELAY_WARNING=4h", "bounce.delay_warning", "4h"},
		{"QSEND_QUEUELIFETIME=2h30m", "queuelifetime", "2h30m"},
		{"QSEND_QUEUELIFETIME=0", "queuelifetime", "0s"},
		{"QSEND_STORE_BATCH_DELAY=0", "store.batch_delay", "0s"},
		{"QSEND_STORE_BATCH_DELAY=500us", "store.batch_delay", "500µs"},
		{"QSEND_LOG_LEVEL=Warn", "log.level", "warn"},
		{"QSEND_METRICS_LISTEN=127.0.0.1:9100", "metrics.listen", "127.0.0.1:9100"},
		{"QSEND_METRICS_LISTEN=", "metrics.listen", `""`},
		{"QSEND_SMTPGREETING=mx.example ESMTP", "smtpgreeting", "mx.example ESMTP"},
		{"QSEND_ADMIN_GROUP=qsendadm", "admin_group", "qsendadm"},
		{"QSEND_DOUBLEBOUNCETO=", "doublebounceto", `""`},
		{"QSEND_CONCURRENCYREMOTE=5000", "concurrencyremote", "5000"},
		{"QSEND_DATABYTES=10485760", "databytes", "10485760"},
		{"QSEND_BADMAILFROM=@spam.example,x@y.example", "badmailfrom", "['@spam.example', x@y.example]"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			c, _, err := fixture{env: []string{tt.env}}.run(t)
			if err != nil {
				t.Fatal(err)
			}
			name, _, _ := strings.Cut(tt.env, "=")
			v, o := lookup(t, c, tt.key)
			if v != tt.value || o != "environment "+name {
				t.Errorf("%s = %q # %s; want %q", tt.key, v, o, tt.value)
			}
		})
	}
}

func TestEnvironFirstWins(t *testing.T) {
	c, _, err := fixture{env: []string{"QSEND_CONCURRENCYREMOTE=5", "QSEND_CONCURRENCYREMOTE=abc"}}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.ConcurrencyRemote != 5 {
		t.Errorf("ConcurrencyRemote = %d, want 5 (the first entry, as os.Getenv)", c.ConcurrencyRemote)
	}
}

func TestStateDirDefault(t *testing.T) {
	tests := []struct {
		name string
		uid  int
		env  []string
		want string
	}{
		// Every uid finds the system queue: a per-user one only when asked for.
		{"root", 0, []string{"HOME=/root", "XDG_STATE_HOME=/root/.state"}, "/var/spool/qsend"},
		{"user with XDG_STATE_HOME", 1000, []string{"HOME=/home/u", "XDG_STATE_HOME=/home/u/.st"}, "/var/spool/qsend"},
		{"user with HOME", 1000, []string{"HOME=/home/u"}, "/var/spool/qsend"},
		{"user without HOME", 1000, []string{"HOME="}, "/var/spool/qsend"},
		{"current uid", -1, []string{"HOME=/home/u"}, "/var/spool/qsend"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Options{UID: tt.uid, Hostname: "h.example", Environ: append(tt.env, "QSEND_CONTROL_DIR=/nonexistent"),
				DefaultFile: "/nonexistent/qsend.yaml"})
			if err != nil {
				t.Fatal(err)
			}
			if c.StateDir != tt.want || c.Origin("state_dir") != "default" {
				t.Errorf("StateDir = %q (%s), want %q", c.StateDir, c.Origin("state_dir"), tt.want)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	def := dir + "/default.yaml"
	if err := os.WriteFile(def, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		opts     Options
		args     []string
		path     string
		explicit bool
	}{
		{"file", Options{File: "/a.yaml", Environ: []string{"QSEND_CONFIG=/b.yaml"}}, []string{"--config", "/c.yaml"}, "/a.yaml", true},
		{"flag", Options{Environ: []string{"QSEND_CONFIG=/b.yaml"}}, []string{"--config", "/c.yaml"}, "/c.yaml", true},
		{"environment", Options{Environ: []string{"QSEND_CONFIG=/b.yaml"}, DefaultFile: def}, nil, "/b.yaml", true},
		{"default exists", Options{Environ: []string{"QSEND_CONFIG="}, DefaultFile: def}, nil, def, false},
		{"none", Options{Environ: []string{}, DefaultFile: dir + "/none.yaml"}, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlags(t, tt.args...)
			tt.opts.Flags = fs
			path, explicit := Locate(tt.opts)
			if path != tt.path || explicit != tt.explicit {
				t.Errorf("Locate = %q, %v; want %q, %v", path, explicit, tt.path, tt.explicit)
			}
		})
	}
}

func TestConfigFlag(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/q.yaml"
	if err := os.WriteFile(file, []byte("concurrencyremote: 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Options{Flags: newFlags(t, "--config", file), UID: 1000, Hostname: "h",
		Environ: []string{"HOME=/h", "QSEND_CONTROL_DIR=/nonexistent"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.File != file || c.ConcurrencyRemote != 7 || c.Origin("concurrencyremote") != "config file "+file+":1" {
		t.Errorf("File %q, ConcurrencyRemote %d, origin %q", c.File, c.ConcurrencyRemote, c.Origin("concurrencyremote"))
	}
}

func TestDeterministic(t *testing.T) {
	f := fixture{
		control: map[string]string{"me": "m.example\n", "rcpthosts": "a.example\n"},
		yaml:    "concurrencyremote: 100\nsmtpd:\n  listen: [{address: \":25\"}]\n",
		env:     []string{"QSEND_LOG_FORMAT=json"},
	}
	a, dir, err := f.run(t)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(Options{File: dir + "/qsend.yaml", UID: 1000, Hostname: "host.example",
		Environ: []string{"QSEND_LOG_FORMAT=json", "HOME=/home/u", "QSEND_CONTROL_DIR=" + dir + "/control"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two loads differ:\n%+v\n%+v", a, b)
	}
	if d := b.Diff(a); d != nil {
		t.Errorf("Diff = %v", d)
	}
}

func TestExplicitMissingFile(t *testing.T) {
	_, err := Load(Options{File: "/nonexistent/qsend.yaml", Environ: []string{}})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want fs.ErrNotExist", err)
	}
}
