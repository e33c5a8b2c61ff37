package smtptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// maxLine bounds a command line (RFC 5321 §4.5.3.1.4 says 512; be lenient).
const maxLine = 4096

// errDrop ends a session without a reply.
var errDrop = errors.New("connection dropped")

// session is one client connection.
type session struct {
	s     *Server
	raw   net.Conn
	n     int
	r     *bufio.Reader
	w     *bufio.Writer
	tls   bool
	state tls.ConnectionState

	owed  bool // a reply was written but not yet sent
	helo  bool
	mail  bool
	from  string
	param string
	rcpts []string
}

func (ss *session) serve() {
	ss.r, ss.w = newRW(ss.raw)
	if ss.s.cfg.ImplicitTLS {
		// SMTPS: TLS first, then the greeting inside it.
		tc := tls.Server(ss.raw, ss.s.cfg.TLS)
		if tc.Handshake() != nil {
			ss.raw.Close()
			return
		}
		ss.tls, ss.state = true, tc.ConnectionState()
		ss.r, ss.w = newRW(tc)
	}
	banner := " ESMTP smtptest"
	if ss.s.cfg.LMTP {
		banner = " LMTP smtptest"
	}
	if err := ss.reply("GREETING", "", 220, ss.s.cfg.Hostname+banner); err != nil {
		ss.w.Flush()
		return
	}
	for {
		if ss.r.Buffered() == 0 {
			// Answer a pipelined group only when all of it has been read
			// (RFC 2920 §3.2 lets the server batch its replies).
			if ss.w.Flush() != nil {
				return
			}
			ss.owed = false
		}
		line, err := ss.readLine()
		if err != nil {
			return
		}
		if err := ss.command(line); err != nil {
			ss.w.Flush()
			return
		}
	}
}

// readLine reads one command line ending in CRLF, without the CRLF.
func (ss *session) readLine() (string, error) {
	b, err := ss.r.ReadSlice('\n')
	if err != nil {
		return "", err
	}
	if len(b) > maxLine {
		return "", fmt.Errorf("line longer than %d bytes", maxLine)
	}
	return string(bytes.TrimSuffix(b[:len(b)-1], []byte{'\r'})), nil
}

func (ss *session) command(line string) error {
	ss.s.record(line, ss.owed)
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	if ss.s.cfg.DropAfter != "" && strings.EqualFold(ss.s.cfg.DropAfter, verb) {
		return errDrop
	}
	if ss.s.cfg.LMTP {
		// RFC 2033 §4.1: LHLO replaces HELO and EHLO.
		switch verb {
		case "LHLO":
			ss.resetTxn()
			ss.helo = true
			return ss.reply("LHLO", arg, 250, ss.ehloText())
		case "EHLO", "HELO":
			return ss.reply(verb, arg, 500, "5.5.1 this is LMTP: say LHLO")
		}
	}
	switch verb {
	case "EHLO":
		ss.resetTxn()
		ss.helo = true
		return ss.reply("EHLO", arg, 250, ss.ehloText())
	case "HELO":
		ss.resetTxn()
		ss.helo = true
		return ss.reply("HELO", arg, 250, ss.s.cfg.Hostname)
	case "STARTTLS":
		return ss.startTLS(arg)
	case "MAIL":
		return ss.mailCmd(arg)
	case "RCPT":
		return ss.rcptCmd(arg)
	case "DATA":
		return ss.dataCmd(arg)
	case "RSET":
		ss.resetTxn()
		return ss.reply("RSET", arg, 250, "2.0.0 ok")
	case "NOOP":
		return ss.reply("NOOP", arg, 250, "2.0.0 ok")
	case "QUIT":
		ss.reply("QUIT", arg, 221, "2.0.0 bye")
		return errDrop
	}
	return ss.reply(verb, arg, 502, "5.5.1 command not implemented")
}

func (ss *session) ehloText() string {
	c := ss.s.cfg
	lines := []string{c.Hostname}
	add := func(on bool, kw string) {
		if on {
			lines = append(lines, kw)
		}
	}
	add(c.Pipelining, "PIPELINING")
	add(c.EightBitMIME, "8BITMIME")
	add(c.SMTPUTF8, "SMTPUTF8")
	add(c.Enhanced, "ENHANCEDSTATUSCODES")
	add(c.Chunking, "CHUNKING")
	add(c.Size > 0, "SIZE "+strconv.FormatInt(c.Size, 10))
	add(c.TLS != nil && !ss.tls, "STARTTLS")
	return strings.Join(lines, "\n")
}

func (ss *session) resetTxn() {
	ss.mail, ss.from, ss.param, ss.rcpts = false, "", "", nil
}

func (ss *session) startTLS(arg string) error {
	if ss.s.cfg.TLS == nil || ss.tls {
		return ss.reply("STARTTLS", arg, 502, "5.5.1 STARTTLS not available")
	}
	code, text := ss.script("STARTTLS", arg, 220, "2.0.0 ready to start TLS")
	if err := ss.send(code, text); err != nil {
		return err
	}
	if code != 220 {
		return nil
	}
	if err := ss.w.Flush(); err != nil {
		return err
	}
	// RFC 3207 §4.2 and CVE-2011-0411: pipelined plaintext after STARTTLS
	// is dropped with the old reader.
	tc := tls.Server(ss.raw, ss.s.cfg.TLS)
	if err := tc.Handshake(); err != nil {
		return errDrop
	}
	ss.tls, ss.state = true, tc.ConnectionState()
	ss.helo = false
	ss.resetTxn()
	ss.r, ss.w = newRW(tc)
	return nil
}

// path returns the address between < and > after prefix ("FROM:"), and the
// parameters after it.
func path(arg, prefix string) (addr, params string, ok bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", "", false
	}
	rest := strings.TrimLeft(arg[len(prefix):], " ")
	if !strings.HasPrefix(rest, "<") {
		return "", "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", "", false
	}
	return rest[1:end], strings.TrimSpace(rest[end+1:]), true
}

func (ss *session) mailCmd(arg string) error {
	if !ss.helo {
		return ss.reply("", arg, 503, "5.5.1 EHLO first")
	}
	if ss.mail {
		return ss.reply("", arg, 503, "5.5.1 nested MAIL")
	}
	from, params, ok := path(arg, "FROM:")
	if !ok {
		return ss.reply("", arg, 501, "5.5.4 syntax: MAIL FROM:<address>")
	}
	code, text := ss.script("MAIL", arg, 250, "2.1.0 ok")
	if code >= 200 && code < 300 {
		ss.mail, ss.from, ss.param = true, from, params
	}
	return ss.send(code, text)
}

func (ss *session) rcptCmd(arg string) error {
	if !ss.mail {
		return ss.reply("", arg, 503, "5.5.1 MAIL first")
	}
	to, _, ok := path(arg, "TO:")
	if !ok {
		return ss.reply("", arg, 501, "5.5.4 syntax: RCPT TO:<address>")
	}
	if m := ss.s.cfg.MaxRcpts; m > 0 && len(ss.rcpts) >= m {
		return ss.send(452, "4.5.3 too many recipients")
	}
	code, text := ss.script("RCPT", arg, 250, "2.1.5 ok")
	if code >= 200 && code < 300 {
		ss.rcpts = append(ss.rcpts, to)
	}
	return ss.send(code, text)
}

func (ss *session) dataCmd(arg string) error {
	code, text := 354, "go ahead"
	if !ss.mail || len(ss.rcpts) == 0 {
		code, text = 503, "5.5.1 no valid recipients"
	}
	// The script may accept DATA even without recipients, to test clients
	// against RFC 2920 §3.1.
	code, text = ss.script("DATA", arg, code, text)
	if err := ss.send(code, text); err != nil || code != 354 {
		return err
	}
	if err := ss.w.Flush(); err != nil {
		return err
	}
	ss.owed = false
	data, err := ss.readData()
	if err != nil {
		return err
	}
	if strings.EqualFold(ss.s.cfg.DropAfter, "DOT") {
		return errDrop
	}
	if ss.s.cfg.LMTP {
		return ss.lmtpReplies(data)
	}
	code, text = 250, "2.0.0 ok: queued"
	if len(ss.rcpts) == 0 {
		code, text = 554, "5.5.1 no valid recipients"
	}
	if tooLong(data, ss.s.cfg.LineLimit) {
		code, text = 500, "Line too long"
	}
	code, text = ss.script("DOT", "", code, text)
	if code >= 200 && code < 300 && len(ss.rcpts) > 0 {
		ss.s.deliver(Received{Sender: ss.from, Rcpts: ss.rcpts, Data: data,
			MailParams: ss.param, TLS: ss.tls, TLSState: ss.state, Conn: ss.n})
	}
	ss.resetTxn()
	return ss.send(code, text)
}

// lmtpReplies answers the final dot with one reply per accepted recipient,
// in RCPT order (RFC 2033 §4.2), and keeps the message for those with a
// 2xx reply.
func (ss *session) lmtpReplies(data []byte) error {
	var ok []string
	for _, r := range ss.rcpts {
		code, text := ss.script("DOT", r, 250, "2.0.0 <"+r+"> delivered")
		if code >= 200 && code < 300 {
			ok = append(ok, r)
		}
		if err := ss.send(code, text); err != nil {
			ss.keep(ok, data)
			return err
		}
	}
	ss.keep(ok, data)
	ss.resetTxn()
	return nil
}

// keep records a message delivered to rcpts, if any.
func (ss *session) keep(rcpts []string, data []byte) {
	if len(rcpts) > 0 {
		ss.s.deliver(Received{Sender: ss.from, Rcpts: rcpts, Data: data,
			MailParams: ss.param, TLS: ss.tls, TLSState: ss.state, Conn: ss.n})
	}
}

// readData reads the message up to the line ".", which must be exactly
// CRLF "." CRLF (RFC 5321 §4.1.1.4); a leading dot is removed from other
// lines (RFC 5321 §4.5.2). CRLF is kept.
func (ss *session) readData() ([]byte, error) {
	var data []byte
	keep := !ss.s.cfg.Discard
	var line []byte
	for {
		frag, err := ss.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if keep {
				line = append(line, frag...)
			} else if line == nil {
				line = []byte{'x'} // a long line cannot be the end
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if line != nil {
			if keep {
				line = append(line, frag...)
				frag = line
			} else {
				frag = []byte("x\r\n")
			}
			line = nil
		}
		if string(frag) == ".\r\n" {
			return data, nil
		}
		if keep {
			if frag[0] == '.' {
				frag = frag[1:]
			}
			data = append(data, frag...)
		}
	}
}

// script asks Config.Reply for the reply to cmd, falling back to the default.
func (ss *session) script(cmd, arg string, code int, text string) (int, string) {
	if f := ss.s.cfg.Reply; f != nil {
		if c, t := f(cmd, arg); c != 0 {
			return c, t
		}
	}
	return code, text
}

// reply answers cmd with its scripted or default reply.
func (ss *session) reply(cmd, arg string, code int, text string) error {
	if cmd != "" {
		code, text = ss.script(cmd, arg, code, text)
	}
	return ss.send(code, text)
}

// send writes a reply, one line per "\n" of text (RFC 5321 §4.2.1), and
// ends the session after a 421.
func (ss *session) send(code int, text string) error {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		sep := " "
		if i < len(lines)-1 {
			sep = "-"
		}
		fmt.Fprintf(ss.w, "%d%s%s\r\n", code, sep, l)
	}
	ss.owed = true
	if code == 421 {
		return errDrop
	}
	return nil
}

// tooLong reports whether data has a line longer than limit octets
// without its CRLF (limit 0: no limit).
func tooLong(data []byte, limit int) bool {
	if limit <= 0 {
		return false
	}
	for _, l := range bytes.Split(data, []byte("\r\n")) {
		if len(l) > limit {
			return true
		}
	}
	return false
}
