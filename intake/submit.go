package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/qsend/qsend/intake/maildrop"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/internal/envelope"
)

// ExitNoQueue is the exit status when the queue found was never set up: no
// daemon created its maildrop or socket, so nothing would ever read a
// message left there. 111 is qmail's temporary failure (qmail-inject.c,
// qmail-queue callers), so the sender keeps the message and tries again.
const ExitNoQueue = 111

// Receipt says where a submitted message went.
type Receipt struct {
	ID       string // the queue id, when the daemon took it
	Maildrop string // the maildrop file name, when the daemon was not reachable
}

// Submit puts a message into the queue and returns once it is durable. It
// reads the message from body and only then calls getEnv, as qmail-queue
// reads fd 0 before fd 1. It uses the daemon's control socket; when nothing
// listens there, or the caller may not use it, it writes the maildrop
// instead (the daemon imports it when it starts or is triggered). Errors are
// *Error values with qmail-queue's exit code.
func Submit(ctx context.Context, p ctl.Layout, pid int, body io.Reader, getEnv func() (envelope.Envelope, error)) (Receipt, error) {
	id, err := ctl.NewClient(p.Socket).Submit(ctx, pid, body, getEnv)
	if err == nil {
		return Receipt{ID: id.String()}, nil
	}
	if errors.Is(err, ctl.ErrNoDaemon) || errors.Is(err, ctl.ErrNoAccess) {
		// Nothing was read from body yet: the maildrop gets all of it.
		return submitMaildrop(p, pid, body, getEnv)
	}
	return Receipt{}, classify(err)
}

// classify turns a failure of a socket submission into an *Error.
func classify(err error) error {
	var ie *Error
	var re *ctl.RemoteError
	var be *ctl.BodyError
	switch {
	case errors.As(err, &ie):
		return ie
	case errors.As(err, &re):
		code := re.Code
		if code == 0 {
			code = ExitTempRefused
		}
		return &Error{Code: code, Msg: "the daemon refused the message: " + re.Msg, Err: err}
	case errors.As(err, &be):
		return &Error{Code: ExitReadError, Msg: be.Error(), Err: err}
	}
	// The connection broke after the message was sent or while it was
	// being sent; it may or may not have been queued, as when qmail-queue
	// is killed, so the caller must retry (qmail-queue.8: 74).
	return &Error{Code: ExitCommunication, Msg: "talking to the daemon: " + err.Error(), Err: err}
}

// readTracker remembers whether a failure came from the message's reader.
type readTracker struct {
	r   io.Reader
	err error
}

func (t *readTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		t.err = err
	}
	return n, err
}

// notSetUp returns the error for a state_dir without a maildrop, checked
// before anything is read: a message is never acknowledged into a queue
// that no daemon will read.
func notSetUp(p ctl.Layout) error {
	_, err := os.Stat(p.Maildrop)
	if !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return &Error{Code: ExitNoQueue, Err: err, Msg: fmt.Sprintf(
		"no qsend daemon has set up the queue in %s (no %s, no %s): run `qsend install` and start the daemon, or name your own queue with --config or --state-dir",
		p.Dir, filepath.Base(p.Maildrop), filepath.Base(p.Socket))}
}

func submitMaildrop(p ctl.Layout, pid int, body io.Reader, getEnv func() (envelope.Envelope, error)) (Receipt, error) {
	if err := notSetUp(p); err != nil {
		return Receipt{}, err
	}
	rt := &readTracker{r: body}
	name, err := maildrop.Write(p.Maildrop, rt, func() (maildrop.Entry, error) {
		env, err := getEnv()
		return maildrop.Entry{PID: pid, Sender: env.Sender, Recipients: env.Recipients}, err
	})
	if err != nil {
		var ie *Error
		switch {
		case errors.As(err, &ie):
			return Receipt{}, ie
		case rt.err != nil:
			return Receipt{}, &Error{Code: ExitReadError, Msg: "reading the message: " + rt.err.Error(), Err: err}
		case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EIO):
			return Receipt{}, &Error{Code: ExitWriteError, Msg: err.Error(), Err: err}
		case errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission):
			return Receipt{}, &Error{Code: ExitQueueDir, Msg: fmt.Sprintf("cannot write the maildrop %s (is the daemon set up?): %v", p.Maildrop, err), Err: err}
		}
		return Receipt{}, &Error{Code: ExitWriteError, Msg: err.Error(), Err: err}
	}
	maildrop.Trigger(p.Trigger)
	return Receipt{Maildrop: name}, nil
}
