package qq_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/daemon/daemontest"
	"github.com/qsend/qsend/intake"
	"github.com/qsend/qsend/intake/maildrop"
	"github.com/qsend/qsend/intake/qq"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/store"
)

// script writes an executable shell script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

var testEnvelope = envelope.Envelope{Sender: "s@example.org", Recipients: []string{"r1@example.net", "r2@example.com"}}

func TestProgram(t *testing.T) {
	dir := t.TempDir()
	// A qmail-queue that keeps what it reads, then exits with $CODE.
	save := script(t, dir, "save", `cat > "$OUT.msg" && cat <&1 > "$OUT.env" 2>/dev/null; echo "$FOO" > "$OUT.foo"; exit $CODE`+"\n")
	script(t, dir, "relative", "cat >/dev/null; cat <&1 >/dev/null; exit 0\n")
	deaf := script(t, dir, "deaf", "exit 0\n")
	crash := script(t, dir, "crash", "kill -9 $$\n")
	big := strings.Repeat("x", 1<<20) // more than a pipe holds
	tests := []struct {
		name      string
		prog      string
		dir       string
		code      string
		body      string
		wantCode  int // 0: success
		wantText  string
		permanent bool
	}{
		{name: "success", prog: save, code: "0", body: "Subject: s\n\nbody\n"},
		{name: "permanent refusal", prog: save, code: "31", body: "x\n", wantCode: 31, wantText: "mail server permanently rejected message (#5.3.0)", permanent: true},
		{name: "temporary refusal", prog: save, code: "71", body: "x\n", wantCode: 71, wantText: "mail server temporarily rejected message (#4.3.0)"},
		{name: "other permanent", prog: save, code: "12", body: "x\n", wantCode: 12, wantText: "qq permanent problem (#5.3.0)", permanent: true},
		{name: "other temporary", prog: save, code: "99", body: "x\n", wantCode: 99, wantText: "qq temporary problem (#4.3.0)"},
		{name: "exit 0 without reading the message", prog: deaf, body: big, wantCode: 54, wantText: "qq read error (#4.3.0)"},
		{name: "killed by a signal", prog: crash, body: "x\n", wantCode: 81, wantText: "qq crashed (#4.3.0)"},
		{name: "missing program", prog: filepath.Join(dir, "missing"), body: "x\n", wantCode: 120, wantText: "unable to exec qq (#4.3.0)"},
		{name: "relative name found in Dir", prog: "relative", dir: dir, body: "x\n"},
		{name: "no PATH search", prog: "sh", dir: dir, body: "x\n", wantCode: 120, wantText: "unable to exec qq (#4.3.0)"},
		{name: "Dir cannot be entered", prog: save, dir: filepath.Join(dir, "nowhere"), body: "x\n", wantCode: 61, wantText: "qq trouble in home directory (#4.3.0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			q := qq.Queue{
				Program: tt.prog,
				Dir:     tt.dir,
				Env:     []string{"PATH=" + os.Getenv("PATH"), "OUT=" + out, "CODE=" + tt.code, "FOO=bar"},
			}
			r, err := q.Put(context.Background(), testEnvelope, strings.NewReader(tt.body))
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if r.PID <= 0 {
					t.Errorf("receipt %+v has no pid", r)
				}
				if tt.prog != save {
					return
				}
				for suffix, want := range map[string]string{".msg": tt.body, ".env": string(intake.AppendEnvelope(nil, testEnvelope)), ".foo": "bar\n"} {
					got, err := os.ReadFile(out + suffix)
					if err != nil || string(got) != want {
						t.Errorf("%s: %q (%v), want %q", suffix, got, err, want)
					}
				}
				return
			}
			var ie *intake.Error
			if !errors.As(err, &ie) || ie.Code != tt.wantCode {
				t.Fatalf("error %v, want code %d", err, tt.wantCode)
			}
			text, permanent := qq.Text(err)
			if text != tt.wantText || permanent != tt.permanent {
				t.Fatalf("Text: %q %v, want %q %v", text, permanent, tt.wantText, tt.permanent)
			}
		})
	}
}

func TestProgramContext(t *testing.T) {
	dir := t.TempDir()
	hang := script(t, dir, "hang", "exec sleep 60\n")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := qq.Queue{Program: hang}.Put(ctx, testEnvelope, strings.NewReader("x\n"))
	if intake.ExitCode(err) != intake.ExitTimeout || time.Since(start) > 10*time.Second {
		t.Fatalf("error %v after %v, want a timeout", err, time.Since(start))
	}
}

func TestMaildrop(t *testing.T) {
	l := ctl.LayoutOf(t.TempDir())
	if err := os.Mkdir(l.Maildrop, 0o700); err != nil {
		t.Fatal(err)
	}
	body := "Subject: s\n\nbody\n"
	r, err := qq.Queue{Layout: l, PID: 4242}.Put(context.Background(), testEnvelope, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Maildrop == "" || r.ID != "" || r.PID != 4242 {
		t.Fatalf("receipt %+v", r)
	}
	f, err := maildrop.Open(l.Maildrop, r.Maildrop)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := io.ReadAll(f.Body())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != body || f.Entry.PID != 4242 || f.Entry.Sender != testEnvelope.Sender || !slices.Equal(f.Entry.Recipients, testEnvelope.Recipients) {
		t.Fatalf("maildrop file: %+v %q", f.Entry, got)
	}
}

func TestMaildropMissing(t *testing.T) {
	l := ctl.LayoutOf(filepath.Join(t.TempDir(), "never-set-up"))
	_, err := qq.Queue{Layout: l}.Put(context.Background(), testEnvelope, strings.NewReader("x\n"))
	if intake.ExitCode(err) != intake.ExitNoQueue {
		t.Fatalf("error %v, want exit %d", err, intake.ExitNoQueue)
	}
	if text, perm := qq.Text(err); text != "qq temporary problem (#4.3.0)" || perm {
		t.Fatalf("Text: %q %v", text, perm)
	}
}

func TestDaemon(t *testing.T) {
	l := daemontest.Start(t, nil).Layout
	body := "Subject: through the socket\n\nbody\n"
	r, err := qq.Queue{Layout: l, PID: 4343}.Put(context.Background(), testEnvelope, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	id, err := store.ParseID(r.ID)
	if err != nil {
		t.Fatalf("receipt %+v: %v", r, err)
	}
	sh, err := ctl.NewClient(l.Socket).Show(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var rcpts []string
	for _, rc := range sh.Message.Recipients {
		rcpts = append(rcpts, rc.Addr)
	}
	if sh.Message.Sender != testEnvelope.Sender || !slices.Equal(rcpts, testEnvelope.Recipients) ||
		!strings.Contains(sh.Header, "Subject: through the socket") || !strings.Contains(sh.Header, " invoked by uid ") {
		t.Fatalf("queued %+v\n%s", sh.Message, sh.Header)
	}
}
