package smtpclient

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Reply is one SMTP reply: its code, its enhanced status code (RFC 3463)
// when the first line carries one, and the text of each line after the code
// and its separator.
type Reply struct {
	Code     int
	Enhanced string // "5.1.1", or "" when the reply has none
	Lines    []string
}

// Text returns the reply as qmail-remote keeps it for "Remote host said:"
// (qmail-remote.c smtpcode(), outsmtptext()): every line with its code, joined by "\n",
// e.g. "550 5.1.1 no such user" or "451-first\n451 second".
func (r Reply) Text() string {
	var b strings.Builder
	code := strconv.Itoa(r.Code)
	for i, l := range r.Lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(code)
		if i < len(r.Lines)-1 {
			b.WriteByte('-')
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(l)
	}
	if len(r.Lines) == 0 {
		b.WriteString(code)
	}
	return b.String()
}

// Positive reports whether the reply is a 2xx completion reply.
func (r Reply) Positive() bool { return r.Code >= 200 && r.Code < 300 }

// Temporary reports whether the reply is a transient negative (4xx) reply.
func (r Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }

// ErrMalformedReply is wrapped by the errors of replies that are not SMTP:
// a bad code, a line too long, a code that changes between the lines of one
// multi-line reply.
var ErrMalformedReply = errors.New("malformed SMTP reply")

// maxReplyLines bounds the lines of one multi-line reply so that a server
// cannot make the client collect an endless reply.
const maxReplyLines = 1000

// readReply reads one reply, single or multi-line (RFC 5321 §4.2.1: every
// line but the last has "-" after the code, the last has a space or
// nothing). Lines may end in CRLF or LF; CRs before the LF are dropped as qmail-remote
// does (qmail-remote.c get(), smtpcode()). maxLine bounds each line, its line end
// included.
func readReply(r *bufio.Reader, maxLine int) (Reply, error) {
	return readReplyLimit(r, maxLine, DefaultMaxReplyBytes)
}

// readReplyLimit is readReply with maxBytes bounding the reply's lines
// together, line ends included.
func readReplyLimit(r *bufio.Reader, maxLine, maxBytes int) (Reply, error) {
	var rep Reply
	total := 0
	for n := 0; ; n++ {
		if n == maxReplyLines {
			return Reply{}, fmt.Errorf("%w: more than %d lines", ErrMalformedReply, maxReplyLines)
		}
		line, err := readLine(r, min(maxLine, maxBytes-total))
		if err != nil {
			if n > 0 && errors.Is(err, ErrMalformedReply) && maxBytes-total < maxLine {
				return Reply{}, fmt.Errorf("%w: more than %d bytes", ErrMalformedReply, maxBytes)
			}
			return Reply{}, err
		}
		total += len(line) + 1
		code, more, text, err := parseReplyLine(line)
		if err != nil {
			return Reply{}, err
		}
		if n == 0 {
			rep.Code = code
		} else if code != rep.Code {
			// RFC 5321 §4.2.1: every line of a multi-line reply has the same code.
			return Reply{}, fmt.Errorf("%w: code %d in a reply that began with %d", ErrMalformedReply, code, rep.Code)
		}
		rep.Lines = append(rep.Lines, text)
		if !more {
			break
		}
	}
	rep.Enhanced = enhancedCode(rep.Code, rep.Lines[0])
	return rep, nil
}

// readLine returns one line without its line end, refusing lines longer
// than max bytes.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var long []byte
	for {
		frag, err := r.ReadSlice('\n')
		if err == nil || err == bufio.ErrBufferFull {
			if len(long)+len(frag) > max {
				return nil, fmt.Errorf("%w: line longer than %d bytes", ErrMalformedReply, max)
			}
		}
		switch err {
		case nil:
			if long != nil {
				frag = append(long, frag...)
			}
			frag = frag[:len(frag)-1]
			return bytes.TrimRight(frag, "\r"), nil
		case bufio.ErrBufferFull:
			long = append(long, frag...)
		default:
			return nil, err
		}
	}
}

// parseReplyLine splits "250-text", "250 text" or "250" (RFC 5321 §4.2:
// Reply-code [ SP textstring ]).
func parseReplyLine(line []byte) (code int, more bool, text string, err error) {
	if len(line) < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
		line[2] < '0' || line[2] > '9' {
		return 0, false, "", fmt.Errorf("%w: %q", ErrMalformedReply, clip(line))
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return code, false, "", nil
	}
	switch line[3] {
	case '-':
		more = true
	case ' ':
	default:
		return 0, false, "", fmt.Errorf("%w: %q", ErrMalformedReply, clip(line))
	}
	return code, more, string(line[4:]), nil
}

// enhancedCode returns the RFC 3463 status code at the start of text when
// it is one whose class matches the reply code (RFC 2034 §4), else "".
// It is parsed whether or not ENHANCEDSTATUSCODES was offered, as long as
// it looks like class.subject.detail.
func enhancedCode(code int, text string) string {
	end := strings.IndexByte(text, ' ')
	if end < 0 {
		end = len(text)
	}
	cand := text[:end]
	parts := strings.Split(cand, ".")
	if len(parts) != 3 || len(cand) < 5 {
		return ""
	}
	if len(parts[0]) != 1 || parts[0][0] != byte('0'+code/100) || parts[0][0] == '3' {
		return ""
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 {
			return ""
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return ""
			}
		}
	}
	return cand
}

// clip shortens a line for an error text.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
