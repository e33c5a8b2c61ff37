package smtpd

import (
	"errors"
	"strconv"

	"github.com/qsend/qsend/intake"
	"github.com/qsend/qsend/internal/envelope"
)

// maxHops is qmail-smtpd's MAXHOPS (qmail-smtpd.c blast()).
const maxHops = 100

// bodyResult is what reading a message body found.
type bodyResult struct {
	size         int64 // bytes as stored, without the Received line
	hops         int
	tooBig       bool
	headerTooBig bool
}

// dataCmd answers DATA (qmail-smtpd.c smtp_data()): it reads the message,
// hands it to the queue with qmail-smtpd's Received line in front, and
// answers 250 only once the queue has it durably.
func (s *session) dataCmd() {
	if !s.mail {
		s.reply(replyMailFirst)
		return
	}
	if len(s.rcpts) == 0 {
		s.reply(replyRcptFirst)
		return
	}
	env := envelope.Envelope{Sender: s.sender, Recipients: s.rcpts}
	origin, received := s.origin(), s.received(s.o.Now())
	s.resetTx() // qmail: seenmail = 0
	s.reply(replyGoAhead)

	buf := s.spoolBuf
	if buf == nil {
		buf = s.srv.getSpool()
	}
	sp := newSpool(s.ctx, s.o.Queue, env, origin, received, buf)
	defer func() { s.spoolBuf = s.srv.keepSpool(sp.release()) }()
	res, err := s.readBody(sp)
	if err != nil {
		sp.discard()
		if errors.Is(err, errBareLF) || errors.Is(err, errBareCR) {
			// qmail's straynewline(): reply and drop the connection, the
			// rest of the input unread (qmail-smtpd.c smtp_data(); CVE-2011-0411).
			s.reply(replyStrayLF)
			s.close(err.Error())
			return
		}
		s.readFailed(err)
		return
	}
	// Precedence as qmail-smtpd's smtp_data: hops, databytes, then the
	// queue's answer.
	switch {
	case res.hops >= maxHops:
		s.reply(replyHops)
		s.logRefused(env, res, "too many hops")
	case res.tooBig:
		s.reply(replyTooBig)
		s.logRefused(env, res, "databytes")
	case res.headerTooBig:
		s.reply(replyHeaderTooBig)
		s.logRefused(env, res, "header too large")
	default:
		if err := sp.finish(); err != nil {
			reply := queueReply(err)
			s.reply(reply)
			s.log.Warn("smtpd: message not queued", "from", env.Sender, "rcpts", env.Recipients, "size", res.size, "reply", reply, "err", err)
			return
		}
		s.messages++
		s.reply("250 ok " + strconv.FormatInt(s.o.Now().Unix(), 10) + " qp " + strconv.Itoa(s.o.PID))
		s.log.Info("smtpd: message accepted", "from", env.Sender, "rcpts", env.Recipients, "size", res.size,
			"helo", s.helo, "tls", s.cipher, "auth", s.authUser)
	}
	sp.discard()
}

// readBody reads DATA to its end, storing into sp until a limit is passed;
// then it stops storing but reads on to the end (qmail-smtpd.c blast():
// databytes is reported after the final dot).
func (s *session) readBody(sp *spool) (bodyResult, error) {
	var res bodyResult
	dr := dotReader{normalize: s.o.BareLF == BareLFNormalize}
	var h headerScan
	for {
		n := s.br.Buffered()
		if n == 0 {
			if _, err := s.br.Peek(1); err != nil {
				return res, err
			}
			n = s.br.Buffered()
		}
		in, _ := s.br.Peek(n)
		used, out, end, err := dr.feed(in, s.out[:0])
		s.out = out
		s.br.Discard(used)
		if len(out) > 0 {
			if !h.done {
				h.scan(out, s.o.MaxHeaderBytes)
				res.hops = h.hops
				if h.tooBig(s.o.MaxHeaderBytes) && !res.headerTooBig {
					res.headerTooBig = true
					sp.discard()
				}
				if h.hops >= maxHops {
					sp.discard()
				}
			}
			res.size += int64(len(out))
			if s.databytes > 0 && res.size > s.databytes && !res.tooBig {
				res.tooBig = true
				sp.discard()
			}
			sp.write(out)
		}
		if err != nil {
			return res, err
		}
		if end {
			return res, nil
		}
	}
}

// queueReply is qmail-smtpd's reply for a queue failure: qmail-queue's
// text for its exit code, after 554 when permanent, else 451
// (qmail.c qmail_close()). Errors without an exit code are temporary.
func queueReply(err error) string {
	code := 0
	var ie *intake.Error
	if errors.As(err, &ie) {
		code = ie.Code
	} else if c := intake.ExitCode(err); c == intake.ExitWriteError {
		code = c // disk full and its kin
	}
	if code == 0 {
		return "451 qq temporary problem (#4.3.0)"
	}
	text, permanent := intake.Describe(code)
	if permanent {
		return "554 " + text
	}
	return "451 " + text
}

func (s *session) logRefused(env envelope.Envelope, res bodyResult, why string) {
	s.log.Info("smtpd: message refused", "from", env.Sender, "rcpts", env.Recipients, "size", res.size, "hops", res.hops, "why", why)
}
