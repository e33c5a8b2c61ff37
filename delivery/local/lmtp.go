package local

import (
	"context"
	"net"
	"strings"

	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/delivery/bounce"
	"github.com/qsend/qsend/delivery/smtpclient"
)

// deliverLMTP delivers the LMTP recipients: those that share a server in
// one transaction on one connection, each with its own reply after the
// final dot (RFC 2033 §4.2). The message goes as queued: the LMTP server
// adds Return-Path and Delivered-To itself.
func (t *Transport) deliverLMTP(ctx context.Context, job delivery.Job, sp *spool, rs []rcpt, out []outcome) {
	var order []string
	groups := map[string][]rcpt{}
	for _, r := range rs {
		if groups[r.m.lmtp] == nil {
			order = append(order, r.m.lmtp)
		}
		groups[r.m.lmtp] = append(groups[r.m.lmtp], r)
	}
	for _, server := range order {
		t.lmtpServer(ctx, job, sp, server, groups[server], out)
	}
}

// lmtpServer runs one LMTP session with server for rs.
func (t *Transport) lmtpServer(ctx context.Context, job delivery.Job, sp *spool, server string, rs []rcpt, out []outcome) {
	settle := func(o outcome) {
		for _, r := range rs {
			out[r.pos] = o
		}
	}
	if ctx.Err() != nil {
		settle(deferred(textInterrupted))
		return
	}
	body, err := sp.open(t.o.TempDir, job)
	if err != nil {
		settle(deferred(errorText(textUnreadable, err)))
		return
	}
	network, address := "tcp", server
	if path, ok := strings.CutPrefix(server, "unix:"); ok {
		network, address = "unix", path
	}
	d := net.Dialer{Timeout: t.o.LMTPTimeout}
	raw, err := d.DialContext(ctx, network, address)
	if err != nil {
		settle(deferred(errorText(textLMTPDown(server), err)))
		return
	}
	c, err := smtpclient.NewConn(ctx, raw, "", smtpclient.Options{LMTP: true, HeloHost: t.o.Me, Timeout: t.o.LMTPTimeout})
	if err != nil {
		if ctx.Err() != nil {
			settle(deferred(textInterrupted))
			return
		}
		// A refused greeting or LHLO is the server's trouble, not the
		// recipients': defer rather than bounce.
		settle(deferred(errorText(textLMTPDown(server), err)))
		return
	}
	defer c.Close()
	sender := job.Msg.Sender
	if sender == bounce.DoubleBounceSender {
		// qmail's double-bounce sender (qmail-send.c injectbounce()) is no
		// address an LMTP server accepts; the null sender means the same
		// thing to it: never bounce this.
		sender = ""
	}
	env := smtpclient.Envelope{Sender: sender}
	for _, r := range rs {
		env.Rcpts = append(env.Rcpts, r.v.addr)
	}
	res, err := c.Send(ctx, env, smtpclient.Message{Body: body, Size: job.Msg.Size, EightBit: true})
	for i, r := range rs {
		if i >= len(res) {
			out[r.pos] = deferred(errorText(textLMTPSession(server), err))
			continue
		}
		out[r.pos] = lmtpOutcome(server, res[i], err)
	}
	if err == nil {
		c.Quit()
	}
}

// lmtpOutcome is the result of one recipient from its reply, in
// qmail-remote's words (qmail-remote.c smtp()) with the server's name.
func lmtpOutcome(server string, r smtpclient.RcptResult, err error) outcome {
	said := ""
	if r.Reply.Code != 0 {
		said = textLMTPSaid + strings.ReplaceAll(r.Reply.Text(), "\r", "")
	}
	switch r.State {
	case smtpclient.Delivered:
		return delivered(textLMTPAccepted(server) + said)
	case smtpclient.Failed:
		return failed(textLMTPRefused(server) + said)
	}
	if said == "" && err != nil {
		said = err.Error()
	}
	if r.AfterDot {
		said += "\n" + textPossibleDup
	}
	if said == "" {
		said = textNoReply
	}
	return deferred(textLMTPDeferred(server) + said)
}
