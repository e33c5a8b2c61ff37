package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultSuccessProgram is the program checkpassword runs after a
// successful check when Checkpassword.Args is nil: qmail-smtpd's AUTH
// patches are configured as "qmail-smtpd checkpassword /bin/true" because
// the checkpassword interface execs its arguments on success.
const DefaultSuccessProgram = "/bin/true"

// DefaultCheckpasswordTimeout bounds one run when Checkpassword.Timeout is 0.
const DefaultCheckpasswordTimeout = 30 * time.Second

// maxCredentials bounds what is written to fd 3; checkpassword programs
// read at most 512 bytes (cr.yp.to/checkpwd/interface.html).
const maxCredentials = 1024

// maxOutput bounds the program's output kept for error texts.
const maxOutput = 4096

// Checkpassword runs a checkpassword-compatible program for each check
// (cr.yp.to/checkpwd/interface.html; qmail-smtpd's AUTH patches): the
// program reads "user\0password\0timestamp\0" from descriptor 3, exits 0
// when the password is right (after running its arguments), 1 when it is
// wrong, and anything else (111 by convention) when it could not check.
// Exit 1 gives ErrRejected; every other outcome, including a crash, a
// timeout and a program that cannot be started, is a temporary error
// naming the program.
type Checkpassword struct {
	// Path is the checkpassword program.
	Path string
	// Args are its arguments, conventionally the program it runs on
	// success; nil means DefaultSuccessProgram alone.
	Args []string
	// Timeout bounds a run (default DefaultCheckpasswordTimeout); the
	// program's process group is killed when it expires.
	Timeout time.Duration
	// Env is the program's environment; nil means this process's.
	Env []string
}

// Check runs the program with an empty timestamp, as qmail-smtpd does for
// PLAIN and LOGIN.
func (c *Checkpassword) Check(ctx context.Context, user, pass string) error {
	return c.CheckTimestamp(ctx, user, pass, "")
}

// CheckTimestamp runs the program with the given timestamp, which for
// CRAM-MD5 is the challenge (and pass the client's digest).
func (c *Checkpassword) CheckTimestamp(ctx context.Context, user, pass, timestamp string) error {
	if strings.ContainsRune(user, 0) || strings.ContainsRune(pass, 0) || strings.ContainsRune(timestamp, 0) {
		// NUL separates the fields; such credentials cannot be passed on.
		return fmt.Errorf("%w: NUL byte in the credentials", ErrRejected)
	}
	data := user + "\x00" + pass + "\x00" + timestamp + "\x00"
	if len(data) > maxCredentials {
		return fmt.Errorf("%w: credentials longer than %d bytes", ErrRejected, maxCredentials)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultCheckpasswordTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("checkpassword %s: %w", c.Path, err)
	}
	defer r.Close()
	// The data fits in the pipe buffer, so it is written before the
	// program starts and the write end closed: the program sees EOF after
	// it.
	_, err = w.WriteString(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("checkpassword %s: writing the credentials: %w", c.Path, err)
	}

	args := c.Args
	if args == nil {
		args = []string{DefaultSuccessProgram}
	}
	cmd := exec.CommandContext(ctx, c.Path, args...)
	cmd.Env = c.Env
	cmd.ExtraFiles = []*os.File{r} // descriptor 3
	var out limitedBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// A process group of its own, so that a timeout also kills what the
	// program started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second

	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("checkpassword %s: %w%s", c.Path, ctx.Err(), out.suffix())
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return fmt.Errorf("checkpassword %s: %w", c.Path, ErrRejected)
	case errors.As(err, &exit):
		return fmt.Errorf("checkpassword %s: temporary failure: %v%s", c.Path, exit, out.suffix())
	default:
		return fmt.Errorf("checkpassword %s: %w", c.Path, err)
	}
}

// limitedBuffer keeps the first maxOutput bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// suffix returns ": <first line of output>" or "".
func (b *limitedBuffer) suffix() string {
	line, _, _ := strings.Cut(strings.TrimSpace(b.String()), "\n")
	if line == "" {
		return ""
	}
	return ": " + line
}
