package smtpd

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/qsend/qsend/internal/envelope"
)

// spoolMemory is how much of a message is held in memory before it is
// streamed to the queue while DATA is still being read: most messages fit
// and are handed over whole, without a goroutine and a pipe (the store's
// body chunks are 256 KiB, so such a message is one chunk).
const spoolMemory = 256 << 10

// keptSpool is the largest buffer a session keeps between messages.
const keptSpool = 8 << 10

var (
	// errDiscarded ends the body the queue is reading when the message
	// will not be accepted, so that the queue stores nothing.
	errDiscarded = errors.New("smtpd: message discarded before its end")
	// errQueueReturned fails writes after the queue stopped reading.
	errQueueReturned = errors.New("smtpd: queue returned before the end of the message")
)

// spool hands one message to the queue: in memory up to spoolMemory, then
// streamed through a pipe to an Enqueue running in a goroutine that the
// spool owns and always waits for (in finish or discard).
type spool struct {
	ctx    context.Context
	q      Queue
	env    envelope.Envelope
	origin Origin

	buf    []byte
	pw     *io.PipeWriter
	done   chan error // the streaming Enqueue's result
	failed bool       // nothing more is stored: the message will be refused
	qerr   error      // the queue's error, when it returned early
}

// newSpool starts a message from origin with first (the Received line),
// holding it in buf, which the caller gets back from release for the next
// message.
func newSpool(ctx context.Context, q Queue, env envelope.Envelope, origin Origin, first string, buf []byte) *spool {
	sp := &spool{ctx: ctx, q: q, env: env, origin: origin, buf: append(buf[:0], first...)}
	return sp
}

// release returns the memory buffer for reuse once the queue is done with
// it; nil if it went to a streaming Enqueue.
func (sp *spool) release() []byte {
	b := sp.buf
	sp.buf = nil
	return b
}

// getSpool returns a message buffer from the server's pool of large ones,
// or nil (the spool then grows its own).
func (s *Server) getSpool() []byte {
	if b, ok := s.spools.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return nil
}

// keepSpool is what a session keeps of a message buffer it is done with:
// a small one stays with the session; a large one goes back to the
// server's pool for the next large message of any session, so that idle
// sessions stay small and large messages do not grow a new buffer each.
func (s *Server) keepSpool(b []byte) []byte {
	if cap(b) <= keptSpool {
		return b
	}
	if cap(b) <= 2*spoolMemory {
		s.spools.Put(&b)
	}
	return nil
}

// write stores p (which the caller may reuse afterwards).
func (sp *spool) write(p []byte) {
	if sp.failed || len(p) == 0 {
		return
	}
	if sp.pw == nil {
		sp.buf = append(sp.buf, p...)
		if len(sp.buf) >= spoolMemory {
			sp.stream()
		}
		return
	}
	if _, err := sp.pw.Write(p); err != nil {
		// The queue returned early; its error is reported at the end.
		sp.qerr = <-sp.done
		sp.pw, sp.failed = nil, true
		if sp.qerr == nil {
			sp.qerr = errQueueReturned
		}
	}
}

// stream starts Enqueue reading what is held so far and then the pipe.
func (sp *spool) stream() {
	pr, pw := io.Pipe()
	held := sp.buf
	sp.buf = nil
	sp.pw, sp.done = pw, make(chan error, 1)
	go func() {
		err := sp.q.Enqueue(sp.ctx, sp.env, sp.origin, io.MultiReader(bytes.NewReader(held), pr))
		pr.CloseWithError(errQueueReturned)
		sp.done <- err
	}()
}

// discard drops the message: nothing more is stored and a streaming
// Enqueue is made to fail and waited for.
func (sp *spool) discard() {
	if sp.failed {
		return
	}
	sp.failed = true
	if sp.pw != nil {
		sp.pw.CloseWithError(errDiscarded)
		<-sp.done
		sp.pw = nil
	}
}

// finish ends the message and returns the queue's answer: nil only once
// the message is durable.
func (sp *spool) finish() error {
	if sp.failed {
		if sp.qerr == nil {
			return errDiscarded
		}
		return sp.qerr
	}
	if sp.pw == nil {
		return sp.q.Enqueue(sp.ctx, sp.env, sp.origin, bytes.NewReader(sp.buf))
	}
	sp.pw.Close()
	err := <-sp.done
	sp.pw = nil
	return err
}
