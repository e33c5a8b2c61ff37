package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/qsend/qsend/delivery"
)

// maxOutput is how much of a command's output becomes the report, as
// qmail-lspawn's spawner keeps 3000 bytes (qmail-lspawn.c truncreport, spawn.c).
const maxOutput = 3000

// spool is the message in an unlinked temporary file, made once per job
// for the commands: qmail-local needs a seekable standard input (it reads
// the message again for every .qmail line), as qmail-lspawn gives it.
type spool struct {
	f *os.File
}

func (s *spool) open(dir string, job delivery.Job) (*os.File, error) {
	if s.f == nil {
		f, err := os.CreateTemp(dir, "qsend-local-*")
		if err != nil {
			return nil, err
		}
		os.Remove(f.Name())
		body, err := job.Body()
		if err != nil {
			f.Close()
			return nil, err
		}
		_, err = io.Copy(f, body)
		body.Close()
		if err != nil {
			f.Close()
			return nil, err
		}
		s.f = f
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return s.f, nil
}

func (s *spool) close() {
	if s.f != nil {
		s.f.Close()
	}
}

// deliverCommand runs the method's command for one recipient with the
// message on standard input, unchanged: qmail-lspawn hands qmail-local the
// message as queued and qmail-local adds Return-Path and Delivered-To
// itself; other programs find those lines in $RPLINE and $DTLINE, as
// qmail-local gives its programs. The exit code is read as qmail-lspawn
// reads qmail-local's (qmail-lspawn.c report()). Run as root, the command
// runs as the recipient's system user (see runAs).
func (t *Transport) deliverCommand(ctx context.Context, job delivery.Job, sp *spool, m *method, v *vars) outcome {
	homeErr := v.lookupHome()
	if m.usesHome() && homeErr != nil {
		if errors.Is(homeErr, errNoUser) {
			return failed(textNoMailbox)
		}
		return deferred(errorText(textLookup, homeErr))
	}
	cred, home, err := t.runAs(m, v)
	if err != nil {
		return deferred(err.Error())
	}
	if v.home == "" {
		v.home = home
	}
	argv := make([]string, len(m.command))
	for i, a := range m.command {
		argv[i] = a.expand(v)
	}
	prog := filepath.Base(argv[0])
	stdin, err := sp.open(t.o.TempDir, job)
	if err != nil {
		return deferred(errorText(textUnreadable, err))
	}
	cctx, cancel := context.WithTimeout(ctx, t.o.CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Stdin = stdin
	var out capped
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = commandEnv(v)
	cmd.Dir = "/"
	if v.home != "" {
		cmd.Dir = v.home
	}
	// The command and everything it starts form one process group, killed
	// together on timeout or shutdown.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	text := out.text()
	var exit *exec.ExitError
	switch {
	case err == nil:
		if text == "" {
			text = textSucceeded(prog)
		}
		return delivered(text)
	case ctx.Err() != nil:
		return deferred(textInterrupted)
	case cctx.Err() != nil:
		return deferred(textTimeout(prog, time.Since(start)))
	case errors.As(err, &exit):
		ws, _ := exit.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			// qmail-lspawn: "Zqmail-local crashed."
			return deferred(prefixed(text, textCrashed(prog, ws.Signal())))
		}
		code := exit.ExitCode()
		if text == "" {
			text = textExited(prog, code)
		}
		switch code {
		case 111, 71, 74, 75: // qmail-lspawn: temporary
			return deferred(text)
		}
		return failed(text) // 100 and any other code
	}
	// qmail-lspawn reports "DUnable to run qmail-local."; qsend defers
	// instead, so that a mistyped path does not bounce every local message.
	return deferred(errorText(textUnableToRun(argv[0]), err))
}

// usesHome reports whether the command's arguments name {home}.
func (m *method) usesHome() bool {
	for _, a := range m.command {
		if a.uses(fHome) {
			return true
		}
	}
	return false
}

// prefixed puts line before the command's own output.
func prefixed(output, line string) string {
	if output == "" {
		return line
	}
	return line + "\n" + output
}

// commandEnv is the environment qmail-local gives programs (qmail-command(8)):
// SENDER, RECIPIENT, USER, HOME, LOCAL, HOST, EXT, EXT2..EXT4, HOST2..HOST4,
// RPLINE and DTLINE, plus the daemon's PATH.
func commandEnv(v *vars) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	env := []string{
		"PATH=" + path,
		"SENDER=" + v.sender,
		"RECIPIENT=" + v.addr,
		"USER=" + v.user,
		"HOME=" + v.home,
		"LOCAL=" + v.local,
		"HOST=" + v.domain,
		"EXT=" + v.ext,
		"RPLINE=" + rpLine(v),
		"DTLINE=" + dtLine(v),
	}
	// EXTn: EXT after its first n-1 dashes; HOSTn: HOST without its last
	// n-1 dot-separated parts.
	ext, host := v.ext, v.domain
	for n := 2; n <= 4; n++ {
		if i := strings.IndexByte(ext, '-'); i >= 0 {
			ext = ext[i+1:]
		} else {
			ext = ""
		}
		if i := strings.LastIndexByte(host, '.'); i >= 0 {
			host = host[:i]
		} else {
			host = ""
		}
		env = append(env, "EXT"+strconv.Itoa(n)+"="+ext, "HOST"+strconv.Itoa(n)+"="+host)
	}
	return env
}

// capped keeps the first maxOutput bytes written to it and drops the rest.
type capped struct {
	b bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	if room := maxOutput - c.b.Len(); room > 0 {
		c.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// text is the report: the output up to its first NUL, as qmail-lspawn
// reads qmail-local's (qmail-lspawn.c report(), spawn.c).
func (c *capped) text() string {
	b := c.b.Bytes()
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
