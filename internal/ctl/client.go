package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/store"
)

// SocketName is the control socket's file name inside state_dir.
const SocketName = "qsend.sock"

// Errors from dialling the daemon. Neither consumed any input, so a caller
// may fall back to another path.
var (
	ErrNoDaemon = errors.New("the qsend daemon is not running")
	ErrNoAccess = errors.New("no permission to use the daemon's control socket")
)

// RemoteError is a failure the daemon reported.
type RemoteError struct {
	Msg    string
	Code   int  // qmail-queue exit code, for submissions
	Denied bool // the peer lacks the right to the operation
}

func (e *RemoteError) Error() string { return e.Msg }

// Client talks to the daemon at one socket path. Each call uses its own
// connection, so a Client is safe for concurrent use.
type Client struct {
	Path string
}

// NewClient returns a client of the socket at path.
func NewClient(path string) *Client { return &Client{Path: path} }

// conn is one exchange.
type conn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func (c *Client) dial(ctx context.Context) (*conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", c.Path)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
			return nil, fmt.Errorf("%w (%s: %v)", ErrNoDaemon, c.Path, errors.Unwrap(err))
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
			return nil, fmt.Errorf("%w (%s)", ErrNoAccess, c.Path)
		}
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	return &conn{c: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}, nil
}

// request sends req and flushes.
func (k *conn) request(req Request) error {
	if err := WriteJSON(k.w, FrameRequest, req); err != nil {
		return err
	}
	return k.w.Flush()
}

// response reads record frames, handing each to rec, until the response.
func (k *conn) response(rec func([]byte) error) (Response, error) {
	var buf []byte
	for {
		typ, payload, err := ReadFrame(k.r, buf)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return Response{}, fmt.Errorf("reading the daemon's answer: %w", err)
		}
		buf = payload[:0]
		switch typ {
		case FrameRecord:
			if rec == nil {
				return Response{}, fmt.Errorf("%w: unexpected record", ErrFrame)
			}
			if err := rec(payload); err != nil {
				return Response{}, err
			}
		case FrameResponse:
			var resp Response
			if err := json.Unmarshal(payload, &resp); err != nil {
				return Response{}, fmt.Errorf("%w: response: %v", ErrFrame, err)
			}
			if !resp.OK {
				return resp, &RemoteError{Msg: resp.Error, Code: resp.Code, Denied: resp.Denied}
			}
			return resp, nil
		default:
			return Response{}, fmt.Errorf("%w: type %q from the daemon", ErrFrame, typ)
		}
	}
}

// do runs one request/response exchange.
func (c *Client) do(ctx context.Context, req Request, rec func([]byte) error) (Response, error) {
	k, err := c.dial(ctx)
	if err != nil {
		return Response{}, err
	}
	defer k.c.Close()
	if err := k.request(req); err != nil {
		return Response{}, err
	}
	return k.response(rec)
}

// Submit sends a message: it connects, streams body, then calls getEnv
// (which may read the envelope only now, as qmail-queue reads fd 1 after
// fd 0) and commits. If getEnv fails the submission is aborted and its
// error returned. A dial error wraps ErrNoDaemon or ErrNoAccess and means
// nothing was read from body.
func (c *Client) Submit(ctx context.Context, pid int, body io.Reader, getEnv func() (envelope.Envelope, error)) (store.ID, error) {
	k, err := c.dial(ctx)
	if err != nil {
		return 0, err
	}
	defer k.c.Close()
	if err := WriteJSON(k.w, FrameRequest, Request{Op: OpSubmit, PID: pid}); err != nil {
		return 0, err
	}
	if err := copyFrames(k.w, body); err != nil {
		return 0, err
	}
	env, envErr := getEnv()
	if envErr != nil {
		WriteFrame(k.w, FrameAbort, nil)
		k.w.Flush()
		return 0, envErr
	}
	if err := WriteJSON(k.w, FrameEnvelope, EnvelopeOf(env)); err != nil {
		return 0, err
	}
	if err := k.w.Flush(); err != nil {
		return 0, err
	}
	resp, err := k.response(nil)
	return resp.ID, err
}

// BodyError is a failure to read the message being submitted, as opposed to
// a failure to talk to the daemon.
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return "reading the message: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *BodyError) Unwrap() error { return e.Err }

// copyFrames sends body as data frames. The buffer starts small, since most
// messages are, and grows to DataChunk for large ones.
func copyFrames(w *bufio.Writer, body io.Reader) error {
	buf := make([]byte, 8<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if werr := WriteFrame(w, FrameData, buf[:n]); werr != nil {
				return werr
			}
			if n == len(buf) && len(buf) < DataChunk {
				buf = make([]byte, DataChunk)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			WriteFrame(w, FrameAbort, nil)
			w.Flush()
			return &BodyError{err}
		}
	}
}

// Import asks the daemon to import the maildrop now.
func (c *Client) Import(ctx context.Context) error {
	_, err := c.do(ctx, Request{Op: OpImport}, nil)
	return err
}

// List calls fn for every queued message in id order.
func (c *Client) List(ctx context.Context, fn func(store.Message) error) error {
	_, err := c.do(ctx, Request{Op: OpList}, func(b []byte) error {
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%w: record: %v", ErrFrame, err)
		}
		return fn(m.Store())
	})
	return err
}

// Stat returns the queue's counters.
func (c *Client) Stat(ctx context.Context) (Stat, error) {
	resp, err := c.do(ctx, Request{Op: OpStat}, nil)
	if err != nil {
		return Stat{}, err
	}
	if resp.Stat == nil {
		return Stat{}, fmt.Errorf("%w: stat answer without counters", ErrFrame)
	}
	return *resp.Stat, nil
}

// Check runs the store's full check in the daemon and returns what it
// found.
func (c *Client) Check(ctx context.Context) ([]store.Problem, error) {
	resp, err := c.do(ctx, Request{Op: OpCheck}, nil)
	if err != nil {
		return nil, err
	}
	out := make([]store.Problem, len(resp.Problems))
	for i, p := range resp.Problems {
		out[i] = p.Store()
	}
	return out, nil
}

// Show returns one message's metadata and header.
func (c *Client) Show(ctx context.Context, id store.ID) (Shown, error) {
	resp, err := c.do(ctx, Request{Op: OpShow, IDs: []store.ID{id}}, nil)
	if err != nil {
		return Shown{}, err
	}
	if resp.Shown == nil {
		return Shown{}, fmt.Errorf("%w: show answer without a message", ErrFrame)
	}
	return *resp.Shown, nil
}

// ApplyBatch is how many ids Apply sends in one request. The daemon
// carries out a request and answers it before the next is sent, so each
// batch's effect is in the queue once its answer is read, and a
// connection that breaks leaves at most one batch in doubt.
const ApplyBatch = 100

// Apply runs flush, hold, release, delete or bounce on ids (flush with no
// ids means every message), ApplyBatch ids per request. It returns the
// ids that failed. When the exchange breaks after the start (the daemon
// stopped, say), the error is an *InterruptedError saying how many ids
// were done, and the ids that failed until then are returned.
func (c *Client) Apply(ctx context.Context, op string, ids []store.ID) ([]IDError, error) {
	if len(ids) == 0 {
		resp, err := c.do(ctx, Request{Op: op}, nil)
		return resp.Failed, err
	}
	var failed []IDError
	for done := 0; done < len(ids); {
		batch := ids[done:min(done+ApplyBatch, len(ids))]
		resp, err := c.do(ctx, Request{Op: op, IDs: batch}, nil)
		failed = append(failed, resp.Failed...)
		if err != nil {
			var re *RemoteError
			if done == 0 && (errors.As(err, &re) || errors.Is(err, ErrNoDaemon) || errors.Is(err, ErrNoAccess)) {
				return failed, err // refused before anything was done
			}
			return failed, &InterruptedError{Op: op, Done: done, InDoubt: len(batch), Total: len(ids), Err: err}
		}
		done += len(batch)
	}
	return failed, nil
}

// InterruptedError is an Apply whose exchanges with the daemon broke
// before every id was done.
type InterruptedError struct {
	Op      string
	Done    int // ids whose request was answered: carried out, or listed as failed
	InDoubt int // ids of the request under way, which the daemon may have done in part
	Total   int
	Err     error // why the exchange broke
}

// Error returns "delete interrupted after 200 of 1000 ids; the next 100
// may have been done in part: reading the daemon's answer: unexpected EOF".
func (e *InterruptedError) Error() string {
	return fmt.Sprintf("%s interrupted after %d of %d ids; the next %d may have been done in part: %v",
		e.Op, e.Done, e.Total, e.InDoubt, e.Err)
}

// Unwrap returns why the exchange broke.
func (e *InterruptedError) Unwrap() error { return e.Err }
