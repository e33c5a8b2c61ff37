package remote

import (
	"context"
	"errors"
	"net/netip"

	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/delivery/smtpclient"
	mailenv "github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/store"
)

// tried is what one server made of a group's undecided recipients.
type tried struct {
	reached bool   // the server was reached at all (for the destination's backoff)
	text    string // for recipients still undecided, which the next server may take
	reason  string // where text was decided, for the counters
	// tlsPolicy marks text as a TLS policy failure; broken, a handshake
	// failure under may.
	tlsPolicy, broken bool
}

// tryServer delivers the group's undecided recipients through the server
// at addr (host is its MX name) on route r.
//
// Moving on to the next server after a connection failure, a failed
// greeting or EHLO, a TLS failure, or a 421 is a deliberate difference from
// qmail-remote, which gives up on the first server it connected to
// (docs/qmail.md).
func (t *Transport) tryServer(ctx context.Context, g *group, host string, addr netip.AddrPort, r route) tried {
	ip := ipText(addr)
	for fresh := false; len(g.pos) > 0; fresh = true {
		c, uses, reused, err := t.conn(ctx, addr, host, r, fresh)
		if err != nil {
			var se *smtpclient.Error
			switch {
			case !errors.As(err, &se) || se.Stage == smtpclient.StageConnect:
				return tried{}
			case timeoutOf(se.Err) != nil:
				// A server too slow to finish a step (a tarpit): the next
				// MX may take the recipients; not a TLS failure even when
				// the step was STARTTLS.
				return tried{reached: true, text: timeoutText(ip, false, timeoutOf(se.Err)), reason: stageReason(se.Stage)}
			case se.Stage == smtpclient.StageStartTLS:
				text, pol, broken := tlsFailure(r, se, ip)
				if broken {
					t.broken.mark(addr.Addr(), t.o.Now().Add(t.o.TLS.RememberBroken))
				}
				t.counts.tls.add("failed", r.dec.Level.String())
				return tried{reached: true, text: text, reason: "starttls", tlsPolicy: pol, broken: broken}
			}
			return tried{reached: true, text: stageText(se.Stage, ip) + remoteSaid(se.Reply), reason: stageReason(se.Stage)}
		}
		if !reused {
			t.noteTLS(g, c, r, host)
		}
		stale, moveOn, why := t.send(ctx, g, c, r, host, ip)
		if stale && reused && !fresh {
			c.Close()
			continue // the server closed an idle connection: connect again once
		}
		t.release(ctx, r.key(addr), c, uses+1)
		return tried{reached: true, text: moveOn, reason: why}
	}
	return tried{reached: true}
}

// noteTLS counts a new session by what its TLS proved (verified,
// unverified, plain) and, under an MTA-STS policy in testing mode, logs
// what the policy would have refused (RFC 8461 §5).
func (t *Transport) noteTLS(g *group, c *smtpclient.Conn, r route, host string) {
	st, on := c.TLS()
	switch {
	case !on:
		t.counts.tls.add("plain", r.dec.Level.String())
		if r.dec.Testing {
			t.o.Logger.Warn(stsWouldDeferNoTLS, "id", g.job.Msg.ID, "mx", host, "domain", r.dec.Domain)
		}
	default:
		t.counts.tls.add(r.dec.Classify(st), r.dec.Level.String())
		if r.dec.Testing {
			if err := r.dec.Check(st); err != nil {
				t.o.Logger.Warn(stsWouldDefer, "id", g.job.Msg.ID, "mx", host, "domain", r.dec.Domain, "err", err)
			}
		}
	}
}

// conn returns an idle connection to addr on route r, or a new one.
func (t *Transport) conn(ctx context.Context, addr netip.AddrPort, host string, r route, fresh bool) (*smtpclient.Conn, int, bool, error) {
	if !fresh {
		if ic, ok := t.pool.get(r.key(addr), t.o.Now(), t.o.IdleTime); ok {
			t.counts.Reused.Add(1)
			return ic.c, ic.uses, true, nil
		}
	}
	t.counts.Connections.Add(1)
	c, err := smtpclient.Dial(ctx, addr, host, t.options(r))
	return c, 0, false, err
}

// release keeps a connection for the next message, RSET first, or closes it.
func (t *Transport) release(ctx context.Context, addr poolKey, c *smtpclient.Conn, uses int) {
	if !c.Usable() || uses >= t.o.ReuseLimit || c.Reset(ctx) != nil {
		c.Quit()
		return
	}
	t.pool.put(addr, idleConn{c: c, uses: uses, since: t.o.Now()})
}

// send runs the group's transactions on c and settles what the server
// decided. stale reports a connection that failed before the server said
// anything (a reused connection the server had closed); moveOn is the text
// for recipients left undecided by a 421 or a lost connection before the
// final dot, which the next server may take.
func (t *Transport) send(ctx context.Context, g *group, c *smtpclient.Conn, rt route, host, ip string) (stale bool, moveOn, why string) {
	job := g.job
	var left []int
	for _, env := range envelopes(job, g.pos) {
		if moveOn != "" { // the connection is gone: the rest waits for the next server
			left = append(left, env.pos...)
			continue
		}
		body := &rewinder{open: job.Body}
		res, err := c.Send(ctx, smtpclient.Envelope{Sender: env.sender, Rcpts: env.rcpts}, smtpclient.Message{Body: body, Size: job.Msg.Size, EightBit: job.Msg.EightBit,
			WireSize: job.Msg.WireSize, SMTPUTF8: job.Msg.SMTPUTF8})
		body.Close()
		var se *smtpclient.Error
		errors.As(err, &se)
		if err != nil && !anyReply(res) && (se == nil || se.Reply == nil) && !afterDot(se) {
			stale = true
		}
		t.logAttempt(g, env, host, ip, c, rt, res, err)
		for j, p := range env.pos {
			r := res[j]
			switch {
			case r.State == smtpclient.Delivered:
				g.settle(p, store.Delivered, "ok", resultText(r, host, ip))
			case r.State == smtpclient.Failed:
				g.settle(p, store.Failed, stageReason(r.Stage), resultText(r, host, ip))
			case err != nil && afterDot(se):
				// RFC 5321 §6.1: the message may have been delivered; say so
				// and retry later, never at once elsewhere.
				g.settle(p, store.Deferred, "connection", lostText(ip, true, se.Err))
			case err != nil && (r.Reply.Code == 0 || r.Reply.Code == 421):
				left = append(left, p)
				if r.Reply.Code == 421 {
					moveOn, why = stageText(r.Stage, ip)+remoteSaid(&r.Reply), stageReason(r.Stage)
				} else {
					moveOn, why = lostText(ip, false, causeOf(se, err)), "connection"
				}
			default:
				g.settle(p, store.Deferred, stageReason(r.Stage), resultText(r, host, ip)+tlsReport(c, rt))
			}
		}
	}
	g.pos = left
	return stale && len(left) > 0, moveOn, why
}

// envelope is one transaction: a sender and the recipients it carries.
type envelope struct {
	sender string
	rcpts  []string
	pos    []int
}

// envelopes makes the transactions for the recipients at pos: one, unless
// the sender asks for VERP (qmail-send.c injectbounce(): a sender
// "owner-@host-@[]" becomes "owner-box=rhost@host" for recipient
// box@rhost), which needs one transaction per recipient.
func envelopes(job delivery.Job, pos []int) []envelope {
	rcpt := func(p int) string { return job.Msg.Recipients[job.Rcpts[p]].Addr }
	sender := job.Msg.Sender
	if _, verp := mailenv.VERPBase(sender); !verp {
		e := envelope{sender: sender, pos: pos}
		for _, p := range pos {
			e.rcpts = append(e.rcpts, rcpt(p))
		}
		return []envelope{e}
	}
	out := make([]envelope, 0, len(pos))
	for _, p := range pos {
		out = append(out, envelope{sender: mailenv.VERPSender(sender, rcpt(p)), rcpts: []string{rcpt(p)}, pos: []int{p}})
	}
	return out
}

// lostText reports a connection that ended mid-session: a step that ran
// out of its deadline, or one that died.
func lostText(ip string, afterDot bool, err error) string {
	if te := timeoutOf(err); te != nil {
		return timeoutText(ip, afterDot, te)
	}
	return diedText(ip, afterDot, err)
}

func anyReply(res []smtpclient.RcptResult) bool {
	for _, r := range res {
		if r.Reply.Code != 0 {
			return true
		}
	}
	return false
}

func afterDot(se *smtpclient.Error) bool { return se != nil && se.AfterDot }

func causeOf(se *smtpclient.Error, err error) error {
	if se != nil && se.Err != nil {
		return se.Err
	}
	return err
}
