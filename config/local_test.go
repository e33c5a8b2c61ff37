package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestLocalKeys(t *testing.T) {
	yaml := `local:
  transport: lmtp
  lmtp: unix:/run/dovecot/lmtp
  maildir: /var/vmail/{domain}/{user}/
  user: vmail
  domains:
    - {domain: Virt.Example, transport: command, user: vpopmail, command: [/var/qmail/bin/qmail-local, --, "{user}"]}
    - domain: mail.example
    - domain: tcp.example
      transport: lmtp
      lmtp: 127.0.0.1:24
`
	c, _, err := fixture{yaml: yaml}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	want := []LocalDomain{
		{Domain: "virt.example", Transport: "command", Maildir: "/var/vmail/{domain}/{user}/", Command: []string{"/var/qmail/bin/qmail-local", "--", "{user}"}, User: "vpopmail"},
		{Domain: "mail.example", Transport: "maildir", Maildir: "/var/vmail/{domain}/{user}/", User: "vmail"},
		{Domain: "tcp.example", Transport: "lmtp", Maildir: "/var/vmail/{domain}/{user}/", LMTP: "127.0.0.1:24", User: "vmail"},
	}
	if c.LocalTransport != "lmtp" || c.LocalLMTP != "unix:/run/dovecot/lmtp" || !reflect.DeepEqual(c.LocalDomains, want) {
		t.Errorf("got %q %q %+v", c.LocalTransport, c.LocalLMTP, c.LocalDomains)
	}
	var got string
	for _, s := range c.Settings() {
		if s.Key == "local.domains" {
			got = s.Value
		}
	}
	if !strings.HasPrefix(got, "[{domain: virt.example, transport: command, maildir: '/var/vmail/{domain}/{user}/', user: vpopmail, command: [/var/qmail/bin/qmail-local, --, '{user}']}") {
		t.Errorf("local.domains shows as %s", got)
	}
}

func TestLocalKeyErrors(t *testing.T) {
	tests := []struct {
		name string
		f    fixture
		want string
	}{
		{"unknown transport", fixture{yaml: "local: {transport: mbox}\n"},
			`$T/qsend.yaml: line 1: key local.transport: "mbox" is not one of maildir, lmtp, command`},
		{"lmtp without address", fixture{yaml: "local: {transport: lmtp}\n"},
			`local.transport: transport lmtp needs an lmtp address (set by config file $T/qsend.yaml:1)`},
		{"command without command", fixture{env: []string{"QSEND_LOCAL_TRANSPORT=command"}},
			`local.transport: transport command needs a command (set by environment QSEND_LOCAL_TRANSPORT)`},
		{"bad lmtp address", fixture{yaml: "local: {lmtp: dovecot}\n"},
			`$T/qsend.yaml: line 1: key local.lmtp: LMTP address (want unix:/path or host:port): "dovecot" is not host:port`},
		{"relative socket", fixture{env: []string{"QSEND_LOCAL_LMTP=unix:run/lmtp"}},
			`QSEND_LOCAL_LMTP: LMTP socket "run/lmtp" is not an absolute path`},
		{"domains in env", fixture{env: []string{"QSEND_LOCAL_DOMAINS=a.example"}},
			`QSEND_LOCAL_DOMAINS: local.domains cannot be set in the environment or with --set`},
		{"domain twice", fixture{yaml: "local:\n  domains:\n    - domain: a.example\n    - domain: A.example\n"},
			`$T/qsend.yaml: line 4: key local.domains: domain a.example: listed twice`},
		{"domain lmtp missing", fixture{yaml: "local:\n  domains:\n    - {domain: a.example, transport: lmtp}\n"},
			`$T/qsend.yaml: line 3: key local.domains: domain a.example: transport lmtp needs an lmtp address`},
		{"domain unknown field", fixture{yaml: "local:\n  domains:\n    - {domain: a.example, mailbox: x}\n"},
			`$T/qsend.yaml: line 3: key local.domains: unknown local.domains field "mailbox"`},
		{"domain missing", fixture{yaml: "local:\n  domains:\n    - {transport: maildir}\n"},
			`$T/qsend.yaml: line 3: key local.domains: local.domains entry without a domain`},
		{"domain not a mapping", fixture{yaml: "local:\n  domains: [a.example]\n"},
			`$T/qsend.yaml: line 2: key local.domains: want a mapping with the fields command, domain`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir, err := tt.f.run(t)
			want := strings.ReplaceAll(tt.want, "$T", dir)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error = %v\nwant %s", err, want)
			}
		})
	}
}
