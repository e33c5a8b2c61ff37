package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/qsend/qsend/intake"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/store"
)

// Limits on a control connection: a request must arrive promptly; a
// submission may take as long as qmail-queue's own alarm (qmail-queue.c
// DEATH: 86400 s) but no single read may stall longer than idleTimeout.
const (
	requestTimeout = time.Minute
	idleTimeout    = 10 * time.Minute
)

// serve accepts control connections until ln is closed, and returns after
// every connection it started has finished.
func (d *Daemon) serve(ctx context.Context, ln *net.UnixListener) {
	done := make(chan struct{})
	conns := 0
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				d.log.Error("control socket accept failed", "err", err)
			}
			break
		}
		conns++
		go func() {
			d.handle(ctx, c)
			done <- struct{}{}
		}()
		// Reap finished connections without blocking the accept loop.
		for reaping := true; reaping; {
			select {
			case <-done:
				conns--
			default:
				reaping = false
			}
		}
	}
	for ; conns > 0; conns-- {
		<-done
	}
}

// handle runs one exchange on c.
func (d *Daemon) handle(ctx context.Context, c *net.UnixConn) {
	defer c.Close()
	p, err := peerOf(c)
	if err != nil {
		d.log.Warn("control connection without credentials", "err", err)
		return
	}
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	c.SetDeadline(time.Now().Add(requestTimeout))
	typ, payload, err := ctl.ReadFrame(r, nil)
	if err != nil || typ != ctl.FrameRequest {
		if err != nil && !errors.Is(err, io.EOF) {
			d.log.Debug("control request unreadable", "uid", p.UID, "err", err)
		}
		return
	}
	var req ctl.Request
	if err := json.Unmarshal(payload, &req); err != nil {
		d.reply(w, ctl.Response{Error: "malformed request: " + err.Error(), Code: intake.ExitBug})
		return
	}
	switch req.Op {
	case ctl.OpSubmit:
		d.reply(w, d.submit(ctx, c, r, p))
		return
	case ctl.OpImport:
		d.importNow(ctx)
		d.reply(w, ctl.Response{OK: true})
		return
	}
	a := d.admins.Load()
	if !a.allows(p) {
		d.log.Warn("control request refused", "op", req.Op, "uid", p.UID)
		d.reply(w, ctl.Response{Error: a.denial(), Denied: true})
		return
	}
	c.SetDeadline(time.Now().Add(idleTimeout))
	d.reply(w, d.admin(ctx, req, w))
}

func (d *Daemon) reply(w *bufio.Writer, resp ctl.Response) {
	if err := ctl.WriteJSON(w, ctl.FrameResponse, resp); err == nil {
		w.Flush()
	}
}

// submit receives a message and its envelope and queues it.
func (d *Daemon) submit(ctx context.Context, c *net.UnixConn, r *bufio.Reader, p peer) ctl.Response {
	var sp spool
	defer sp.close()
	dr := ctl.NewDataReader(r)
	fail := func(code int, format string, args ...any) ctl.Response {
		msg := fmt.Sprintf(format, args...)
		d.log.Warn("submission refused", "uid", p.UID, "pid", p.PID, "code", code, "reason", msg)
		return ctl.Response{Error: msg, Code: code}
	}
	// Refresh the deadline as data arrives, so a slow but live client is
	// not cut off while a dead one is.
	body := &deadlineReader{r: dr, c: c}
	if err := sp.fill(body, d.layout.Tmp); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
			return fail(intake.ExitReadError, "the client went away during the message")
		}
		return fail(intake.ExitCode(err), "spooling the message: %v", err)
	}
	if dr.End != ctl.FrameEnvelope {
		return fail(intake.ExitReadError, "the client aborted the message")
	}
	var env ctl.Envelope
	if err := json.Unmarshal(dr.EndPayload, &env); err != nil {
		return fail(intake.ExitEnvelope, "malformed envelope: %v", err)
	}
	if err := intake.Validate(env.Envelope()); err != nil {
		return fail(intake.ExitCode(err), "%v", err)
	}
	now := time.Now()
	msg := store.NewMessage{
		Sender:     env.Sender,
		Recipients: env.Recipients,
		Born:       now,
		Intake:     store.Intake{Protocol: "qmail-queue", UID: p.UID, PID: p.PID},
	}
	id, err := d.enqueue(ctx, msg, d.received(p.PID, p.UID, now), sp.reader(), d.localSubmitter(p.UID))
	if err != nil {
		return fail(queueExit(err), "queueing the message: %v", err)
	}
	return ctl.Response{OK: true, ID: id}
}

// queueExit is the qmail-queue exit code for a failure to store a message:
// 53, "qq write error or disk full", unless the error says otherwise.
func queueExit(err error) int {
	if code := intake.ExitCode(err); code != intake.ExitBug {
		return code
	}
	return intake.ExitWriteError
}

// deadlineReader extends the connection's deadline on every read.
type deadlineReader struct {
	r io.Reader
	c net.Conn
}

func (dr *deadlineReader) Read(p []byte) (int, error) {
	dr.c.SetReadDeadline(time.Now().Add(idleTimeout))
	return dr.r.Read(p)
}

// admin runs the operations reserved to administrators.
func (d *Daemon) admin(ctx context.Context, req ctl.Request, w *bufio.Writer) ctl.Response {
	switch req.Op {
	case ctl.OpList:
		err := d.walkQueue(func(m store.Message) error {
			return ctl.WriteJSON(w, ctl.FrameRecord, ctl.MessageOf(m))
		})
		if err != nil {
			return ctl.Response{Error: err.Error()}
		}
		return ctl.Response{OK: true}
	case ctl.OpStat:
		st, err := Stat(d.store, d.layout)
		if err != nil {
			return ctl.Response{Error: err.Error()}
		}
		return ctl.Response{OK: true, Stat: &st}
	case ctl.OpShow:
		if len(req.IDs) != 1 {
			return ctl.Response{Error: "show takes one message id"}
		}
		sh, err := Show(d.store, req.IDs[0])
		if err != nil {
			return ctl.Response{Error: err.Error()}
		}
		return ctl.Response{OK: true, Shown: &sh}
	case ctl.OpFlush:
		if len(req.IDs) == 0 {
			d.importNow(ctx)
			d.sched.FlushAll()
			return ctl.Response{OK: true}
		}
		return d.each(req, func(id store.ID) error { return d.sched.Flush(id) })
	case ctl.OpHold:
		return d.each(req, d.sched.Hold)
	case ctl.OpRelease:
		return d.each(req, d.sched.Release)
	case ctl.OpDelete:
		return d.each(req, d.sched.Delete)
	case ctl.OpBounce:
		return d.each(req, d.sched.Bounce)
	case ctl.OpCheck:
		return d.checkRequest()
	}
	return ctl.Response{Error: fmt.Sprintf("unknown operation %q", req.Op)}
}

// each applies fn to every id of req and collects the failures.
func (d *Daemon) each(req ctl.Request, fn func(store.ID) error) ctl.Response {
	if len(req.IDs) == 0 {
		return ctl.Response{Error: req.Op + " needs at least one message id"}
	}
	resp := ctl.Response{OK: true}
	for _, id := range req.IDs {
		if err := fn(id); err != nil {
			resp.Failed = append(resp.Failed, ctl.IDError{ID: id, Error: err.Error()})
			continue
		}
		d.log.Info("queue "+req.Op, "id", id)
	}
	return resp
}
