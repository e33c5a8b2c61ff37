// Package qq is how qsend's intake programs (qmail-inject, sendmail, the
// SMTP server) queue a message: through the program named by QMAILQUEUE
// when one is set, as every qmail program that uses qmail.c does, or else
// straight into qsend's queue (the daemon's socket, or the maildrop).
package qq

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/qsend/qsend/intake"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/internal/envelope"
)

// ErrCrashed is the cause of the *intake.Error returned when the QMAILQUEUE
// program was killed by a signal.
var ErrCrashed = errors.New("qq crashed")

// Queue says where an intake program's messages go.
type Queue struct {
	// Layout is qsend's state directory, used when Program is empty.
	Layout ctl.Layout
	// Program is a qmail-queue replacement to run instead (QMAILQUEUE,
	// qmail.c setup_qqargs(), qmail_open()): started with no arguments and no PATH
	// search, the message on fd 0 and the envelope on fd 1.
	Program string
	// Dir is the directory Program runs in and a relative Program is
	// found in: qmail's home, where qmail.c changes directory first.
	// Empty means the current directory.
	Dir string
	// Env is Program's environment; nil means this process's.
	Env []string
	// Stderr receives Program's diagnostics; nil discards them.
	Stderr io.Writer
	// PID names the submitting process in the Received line when the
	// message goes straight into the queue.
	PID int
}

// Receipt says where a queued message went.
type Receipt struct {
	intake.Receipt     // the queue id or maildrop file, when queued directly
	PID            int // the process that queued it: Program's, or Queue.PID
}

// Put queues a message and returns once it is durable, or with an
// *intake.Error carrying qmail-queue's exit code: Program's own exit
// status; 120 when it cannot be started and 61 when its directory cannot
// be entered (qmail.c's child); 81 with ErrCrashed when a signal killed it;
// 54 when it exits 0 but did not read the whole message (qmail_close).
func (q Queue) Put(ctx context.Context, env envelope.Envelope, body io.Reader) (Receipt, error) {
	if q.Program == "" {
		r, err := intake.Submit(ctx, q.Layout, q.PID, body, func() (envelope.Envelope, error) { return env, nil })
		return Receipt{Receipt: r, PID: q.PID}, err
	}
	return q.run(ctx, env, body)
}

func (q Queue) run(ctx context.Context, env envelope.Envelope, body io.Reader) (Receipt, error) {
	mr, mw, err := os.Pipe()
	if err != nil {
		return Receipt{}, &intake.Error{Code: intake.ExitNoMem, Msg: "making a pipe for qq: " + err.Error(), Err: err}
	}
	er, ew, err := os.Pipe()
	if err != nil {
		mr.Close()
		mw.Close()
		return Receipt{}, &intake.Error{Code: intake.ExitNoMem, Msg: "making a pipe for qq: " + err.Error(), Err: err}
	}
	// execv, not execvp: no PATH search (qmail.c qmail_open()). A name
	// without a slash is a file in Dir, as for execv.
	path := q.Program
	if !strings.Contains(path, "/") {
		path = "./" + path
	}
	cmd := exec.CommandContext(ctx, path)
	cmd.Args = []string{q.Program}
	cmd.Dir = q.Dir
	cmd.Env = q.Env
	cmd.Stdin = mr
	cmd.Stdout = er
	cmd.Stderr = q.Stderr
	err = cmd.Start()
	mr.Close()
	er.Close()
	if err != nil {
		mw.Close()
		ew.Close()
		return Receipt{}, startError(q.Program, err)
	}
	// qmail-inject writes the message, closes it, then writes the
	// envelope (qmail.c qmail_from); qmail-queue reads them in that order.
	written := make(chan error, 1)
	go func() {
		_, err := io.Copy(mw, body)
		if cerr := mw.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			_, err = ew.Write(intake.AppendEnvelope(nil, env))
		}
		if cerr := ew.Close(); err == nil {
			err = cerr
		}
		written <- err
	}()
	waitErr := cmd.Wait()
	// The program has exited: writes to its pipes can no longer block.
	writeErr := <-written
	r := Receipt{PID: cmd.Process.Pid}
	if waitErr == nil {
		if writeErr != nil {
			// qmail_close: exit 0 after a failed write is a read error.
			return r, &intake.Error{Code: intake.ExitReadError, Msg: "qq read error (#4.3.0)", Err: writeErr}
		}
		return r, nil
	}
	if ctx.Err() != nil {
		return r, &intake.Error{Code: intake.ExitTimeout, Msg: "qq timeout (#4.3.0): " + ctx.Err().Error(), Err: waitErr}
	}
	var ee *exec.ExitError
	if !errors.As(waitErr, &ee) {
		return r, &intake.Error{Code: intake.ExitBug, Msg: "waiting for " + q.Program + ": " + waitErr.Error(), Err: waitErr}
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return r, &intake.Error{Code: intake.ExitBug, Msg: "qq crashed (#4.3.0)", Err: ErrCrashed}
	}
	code := ee.ExitCode()
	text, _ := intake.Describe(code)
	return r, &intake.Error{Code: code, Msg: text, Err: waitErr}
}

// startError maps a failure to start the program as qmail.c's child
// reports it: 61 when its directory cannot be entered, else 120.
func startError(prog string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Op == "chdir" {
		return &intake.Error{Code: intake.ExitHomeDir, Msg: "qq trouble in home directory (#4.3.0): " + err.Error(), Err: err}
	}
	return &intake.Error{Code: ExitExec, Msg: "unable to exec qq (#4.3.0): " + err.Error(), Err: err}
}

// ExitExec is the status qmail.c's child exits with when it cannot run
// qmail-queue (qmail.c qmail_open()).
const ExitExec = 120

// Text returns what qmail's callers print for an error from Put (qmail.c
// qmail.c qmail_close()), without its D or Z letter, and
// whether it is permanent.
func Text(err error) (text string, permanent bool) {
	if errors.Is(err, ErrCrashed) {
		return "qq crashed (#4.3.0)", false
	}
	return intake.Describe(intake.ExitCode(err))
}

// Enqueue is Put without the receipt, so that a Queue is the SMTP
// server's queue (through smtpd.EnvelopeOnly) as it is qmail-smtpd's.
func (q Queue) Enqueue(ctx context.Context, env envelope.Envelope, body io.Reader) error {
	_, err := q.Put(ctx, env, body)
	return err
}
