package inject

import (
	"errors"
	"maps"
	"slices"
	"testing"
)

func TestParseSendmail(t *testing.T) {
	base := map[string]string{"USER": "alice", "QMAILHOST": "h.example", "MAILHOST": "m.example", "NAME": "Alice", "QMAILNAME": "Q"}
	smtp := maps.Clone(base)
	for k, v := range map[string]string{"RELAYCLIENT": "", "DATABYTES": "0", "PROTO": "TCP", "TCPLOCALIP": "127.0.0.1",
		"TCPLOCALHOST": "localhost", "TCPREMOTEIP": "127.0.0.1", "TCPREMOTEHOST": "localhost", "TCPREMOTEINFO": "sendmail-bs"} {
		smtp[k] = v
	}
	withF := func(user, host string) map[string]string {
		env := map[string]string{"USER": "alice", "QMAILUSER": user}
		if host != "" {
			env["QMAILHOST"] = host
		}
		return env
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		mode SendmailMode
		ia   []string
		want map[string]string
	}{
		{"recipients", []string{"bob@b.example", "carol"}, base, SendmailInject, []string{"-a", "--", "bob@b.example", "carol"}, base},
		{"-t", []string{"-t"}, base, SendmailInject, []string{"-H", "--"}, base},
		{"PHP: -t -i", []string{"-t", "-i"}, base, SendmailInject, []string{"-H", "--"}, base},
		{"cron: -oi -f root user", []string{"-oi", "-f", "root", "user"}, base, SendmailInject, []string{"-a", "-f", "root", "--", "user"}, withF("root", "")},
		{"-f with a host", []string{"-fbounce@lists.example", "-odi", "-oem", "x"}, base, SendmailInject,
			[]string{"-a", "-f", "bounce@lists.example", "--", "x"}, withF("bounce", "lists.example")},
		{"-F sets MAILNAME", []string{"-F", "Bob B", "x"}, map[string]string{"USER": "bob"}, SendmailInject,
			[]string{"-a", "--", "x"}, map[string]string{"USER": "bob", "MAILNAME": "Bob B"}},
		{"-F is cleared by -f", []string{"-FBob", "-f", "b@b.example", "x"}, map[string]string{"USER": "bob"}, SendmailInject,
			[]string{"-a", "-f", "b@b.example", "--", "x"}, map[string]string{"USER": "bob", "QMAILUSER": "b", "QMAILHOST": "b.example"}},
		{"ignored options", []string{"-v", "-m", "-x", "-B8BITMIME", "-p", "smtp:x", "-e", "q", "-Efoo", "-J", "-bm", "-o", "ee", "r"}, base, SendmailInject,
			[]string{"-a", "--", "r"}, base},
		{"a recipient that looks like an option after --", []string{"--", "-x"}, base, SendmailInject, []string{"-a", "--", "-x"}, base},
		{"-bp", []string{"-bp", "-z"}, base, SendmailQueueList, nil, base},
		{"-bs", []string{"-bs"}, base, SendmailSMTP, nil, smtp},
		{"-bs with PROTO set", []string{"-bs"}, map[string]string{"PROTO": "TCP", "TCPREMOTEIP": "10.0.0.1"}, SendmailSMTP, nil,
			map[string]string{"PROTO": "TCP", "TCPREMOTEIP": "10.0.0.1"}},
		{"-q", []string{"-q"}, base, SendmailFlush, nil, base},
		{"-q30m", []string{"-q30m"}, base, SendmailFlush, nil, base},
		{"-bi (newaliases)", []string{"-bi"}, base, SendmailNewAliases, nil, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := maps.Clone(tt.env)
			sm, err := ParseSendmail(tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if sm.Mode != tt.mode || !slices.Equal(sm.InjectArgs, tt.ia) {
				t.Errorf("mode %d args %q, want %d %q", sm.Mode, sm.InjectArgs, tt.mode, tt.ia)
			}
			if !maps.Equal(sm.Env, tt.want) {
				t.Errorf("env %v, want %v", sm.Env, tt.want)
			}
			if !maps.Equal(tt.env, before) {
				t.Errorf("the caller's environment changed")
			}
		})
	}
}

func TestParseSendmailUsage(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"-z"}, "sendmail: illegal option -- z\n" + SendmailUsage},
		{[]string{"-f"}, "sendmail: option requires an argument -- f\n" + SendmailUsage},
		{[]string{"-bx"}, SendmailUsage},
	}
	for _, tt := range tests {
		_, err := ParseSendmail(tt.args, nil)
		var e *Error
		if !errors.As(err, &e) || e.Code != ExitPermanent || e.Msg != tt.msg {
			t.Errorf("%q: %v, want exit 100 %q", tt.args, err, tt.msg)
		}
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args []string
		want Options
	}{
		{nil, Options{Args: []string{}}},
		{[]string{"-a", "x"}, Options{Recipients: RecipArgs, Args: []string{"x"}}},
		{[]string{"-ah"}, Options{Recipients: RecipHeader, Args: []string{}}},
		{[]string{"-Hn", "-fs@x", "r"}, Options{Recipients: RecipBoth, Print: true, Sender: "s@x", SenderSet: true, Args: []string{"r"}}},
		{[]string{"-af", "sender", "r"}, Options{Recipients: RecipArgs, Sender: "sender", SenderSet: true, Args: []string{"r"}}},
		{[]string{"-nA", "-N", "r", "-h"}, Options{Args: []string{"r", "-h"}}},
		{[]string{"-", "-a"}, Options{Args: []string{"-", "-a"}}},
		{[]string{"--", "-a"}, Options{Args: []string{"-a"}}},
		{[]string{"--anything", "r"}, Options{Args: []string{"r"}}},
	}
	for _, tt := range tests {
		got, err := ParseArgs(tt.args)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if got.Recipients != tt.want.Recipients || got.Print != tt.want.Print || got.Sender != tt.want.Sender ||
			got.SenderSet != tt.want.SenderSet || !slices.Equal(got.Args, tt.want.Args) {
			t.Errorf("%q: %+v, want %+v", tt.args, got, tt.want)
		}
	}
}
