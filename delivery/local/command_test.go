package local

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/rewrite"
	"github.com/qsend/qsend/store"
)

// script writes an executable shell script into dir and returns its path.
func script(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+text), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCommandExitCodes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		sh    string
		state store.RcptState
		text  string
	}{
		{"zero", "echo did 0+0+1/\nexit 0", store.Delivered, "did 0+0+1/\n"},
		{"zero silent", "exit 0", store.Delivered, "zero silent succeeded.\n"},
		{"hundred", "echo 'Sorry, no mailbox here by that name. (#5.1.1)'\nexit 100", store.Failed, "Sorry, no mailbox here by that name. (#5.1.1)\n"},
		{"111", "echo 'Temporary error. (#4.3.0)' >&2\nexit 111", store.Deferred, "Temporary error. (#4.3.0)\n"},
		{"71", "exit 71", store.Deferred, "71 exited with status 71.\n"},
		{"74", "exit 74", store.Deferred, "74 exited with status 74.\n"},
		{"75", "exit 75", store.Deferred, "75 exited with status 75.\n"},
		{"99", "echo ninety-nine\nexit 99", store.Failed, "ninety-nine\n"},
		{"1", "exit 1", store.Failed, "1 exited with status 1.\n"},
		{"signal", "echo dying\nkill -9 $$", store.Deferred, "signal crashed (killed by signal 9: killed).\ndying\n"},
		{"nul ends text", "printf 'first\\000second'\nexit 100", store.Failed, "first\n"},
		{"long output", "head -c 5000 /dev/zero | tr '\\0' y\nexit 100", store.Failed, strings.Repeat("y", 3000) + "\n"},
		{"does not read stdin", "exec 0<&-\nexit 0", store.Delivered, "does not read stdin succeeded.\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prog := script(t, dir, tc.name, tc.sh)
			tr := asDaemon(newTransport(t, Options{Default: Method{Kind: KindCommand, Command: []string{prog}}}))
			rs := deliver(t, tr, job("s@x", body, "u@h"))
			if rs[0].State != tc.state || rs[0].Text != tc.text {
				t.Fatalf("got %v %q, want %v %q", rs[0].State, rs[0].Text, tc.state, tc.text)
			}
		})
	}
}

// TestCommandEnvironment: arguments, environment and standard input are
// those qmail-local gives, for a virtual domain's prepended address.
func TestCommandEnvironment(t *testing.T) {
	dir := t.TempDir()
	rules, err := rewrite.New("example.org", []string{"example.org"}, nil, []string{".virt.example:vu"})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	prog := script(t, dir, "env.sh", `{
printf '%s|' "$@"; echo
for v in SENDER RECIPIENT USER HOME LOCAL HOST EXT EXT2 HOST2 HOST3; do eval "echo $v=\$$v"; done
printf '%s' "$RPLINE$DTLINE"
cat
cat 0<&0 >/dev/null
} >`+out+`
`)
	tr := asDaemon(newTransport(t, Options{Rewrite: rules, Default: Method{Kind: KindCommand, Command: []string{prog, "--", "{user}", "{local}", "{ext}", "{domain}", "{addr}", "{sender}", "{{x}"}}}))
	rs := deliver(t, tr, job("snd@example.net", body, "Carol-Ann@sub.virt.example"))
	if rs[0].State != store.Delivered {
		t.Fatalf("%v %q", rs[0].State, rs[0].Text)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "--|vu|vu-Carol-Ann|Carol-Ann|sub.virt.example|vu-Carol-Ann@sub.virt.example|snd@example.net|{x}|\n" +
		"SENDER=snd@example.net\nRECIPIENT=vu-Carol-Ann@sub.virt.example\nUSER=vu\nHOME=\nLOCAL=vu-Carol-Ann\n" +
		"HOST=sub.virt.example\nEXT=Carol-Ann\nEXT2=Ann\nHOST2=sub.virt\nHOST3=sub\n" +
		"Return-Path: <snd@example.net>\nDelivered-To: vu-Carol-Ann@sub.virt.example\n" + body
	if string(got) != want {
		t.Errorf("command saw\n%s\nwant\n%s", got, want)
	}
}

func TestCommandStdinSeekable(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// /proc/self/fd/0 of a pipe would be empty after the first read; of a
	// file it reads from the start again.
	prog := script(t, dir, "twice.sh", "cat >"+out+"\ncat /proc/self/fd/0 >>"+out+"\n")
	tr := asDaemon(newTransport(t, Options{Default: Method{Kind: KindCommand, Command: []string{prog}}}))
	rs := deliver(t, tr, job("s@x", body, "a@h", "b@h"))
	for _, r := range rs {
		if r.State != store.Delivered {
			t.Fatal(r.Text)
		}
	}
	if got, _ := os.ReadFile(out); string(got) != body+body {
		t.Errorf("second read of stdin gave %q", got)
	}
}

func TestCommandUnknownUserHome(t *testing.T) {
	tr := asDaemon(newTransport(t, Options{Default: Method{Kind: KindCommand, Command: []string{"/bin/true", "{home}"}}}))
	rs := deliver(t, tr, job("s@x", body, "no-such-user-qsend@h"))
	if rs[0].State != store.Failed || rs[0].Text != textNoMailbox+"\n" {
		t.Fatalf("got %v %q", rs[0].State, rs[0].Text)
	}
}

func TestCommandMissingProgram(t *testing.T) {
	tr := asDaemon(newTransport(t, Options{Default: Method{Kind: KindCommand, Command: []string{"/nonexistent/qmail-local"}}}))
	rs := deliver(t, tr, job("s@x", body, "u@h"))
	if rs[0].State != store.Deferred || !strings.HasPrefix(rs[0].Text, "Unable to run /nonexistent/qmail-local. (#4.3.0)\n") {
		t.Fatalf("got %v %q", rs[0].State, rs[0].Text)
	}
}

// TestCommandTimeout: a command that outlives its time is killed with the
// processes it started, and the delivery is deferred.
func TestCommandTimeout(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	prog := script(t, dir, "slow.sh", "sleep 60 &\necho $! >"+pidFile+"\nwait\n")
	tests := []struct {
		name    string
		timeout time.Duration
		ctx     time.Duration
		text    string
	}{
		{"command timeout", 300 * time.Millisecond, time.Minute, "Timeout on command delivery: slow.sh ran for"},
		{"shutdown", time.Minute, 300 * time.Millisecond, textInterrupted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := asDaemon(newTransport(t, Options{CommandTimeout: tc.timeout, Default: Method{Kind: KindCommand, Command: []string{prog}}}))
			ctx, cancel := context.WithTimeout(context.Background(), tc.ctx)
			defer cancel()
			start := time.Now()
			rs := tr.Deliver(ctx, job("s@x", body, "u@h"))
			if rs[0].State != store.Deferred || !strings.HasPrefix(rs[0].Text, tc.text) {
				t.Fatalf("got %v %q", rs[0].State, rs[0].Text)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			pid, _ := os.ReadFile(pidFile)
			proc := "/proc/" + strings.TrimSpace(string(pid))
			// SIGKILL takes effect at once, but the process may need a
			// moment to be gone.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				st, err := os.ReadFile(proc + "/stat")
				if err != nil || strings.Contains(string(st), ") Z ") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("child %s of the command still runs: %s", pid, st)
				}
			}
		})
	}
}

// TestCommandCredentials: run as root, a command runs as the recipient's
// system user, or the method's User, never as root (qmail-lspawn).
func TestCommandCredentials(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing users needs root")
	}
	mail, err := user.Lookup("mail")
	if err != nil {
		t.Skip("no system user mail")
	}
	dir, err := os.MkdirTemp("", "qsend-local-creds-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	prog := script(t, dir, "id.sh", "id -u >"+dir+"/uid\necho \"$HOME\" >>"+dir+"/uid\n")
	_, aliasErr := user.Lookup(aliasUser)
	tests := []struct {
		name, rcpt, runAs string
		state             store.RcptState
		text, out         string
	}{
		{"system user", "mail@h", "", store.Delivered, "id.sh succeeded.\n", mail.Uid + "\n" + mail.HomeDir + "\n"},
		{"method user", "somebody@h", "mail", store.Delivered, "id.sh succeeded.\n", mail.Uid + "\n" + mail.HomeDir + "\n"},
		{"root", "root@h", "", store.Deferred, textAsRoot + "\n", ""},
		{"root as method user", "mail@h", "root", store.Deferred, textAsRoot + "\n", ""},
		{"no alias", "no-such-user-qsend@h", "", store.Deferred, textNoAlias + "\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.text == textNoAlias+"\n" && aliasErr == nil {
				t.Skip("this system has a user alias")
			}
			os.Remove(dir + "/uid")
			tr := newTransport(t, Options{Default: Method{Kind: KindCommand, Command: []string{prog}, User: tc.runAs}})
			rs := deliver(t, tr, job("s@x", body, tc.rcpt))
			if rs[0].State != tc.state || rs[0].Text != tc.text {
				t.Fatalf("got %v %q, want %v %q", rs[0].State, rs[0].Text, tc.state, tc.text)
			}
			got, _ := os.ReadFile(dir + "/uid")
			if string(got) != tc.out {
				t.Errorf("command wrote %q, want %q", got, tc.out)
			}
		})
	}
}
