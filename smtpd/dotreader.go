package smtpd

import (
	"bytes"
	"errors"
)

// Errors of the DATA reader; both get qmail's straynewline reply.
var (
	errBareLF = errors.New("bare LF in DATA")
	errBareCR = errors.New("bare CR in DATA")
)

// dotState is where the DATA reader stands.
type dotState uint8

const (
	stLineStart dotState = iota // after CRLF (and at the start: qmail's state 1)
	stInLine                    // inside a line
	stCR                        // after a CR, which must be followed by LF
	stDot                       // after CRLF "."
	stDotCR                     // after CRLF ".\r"
	stLFStart                   // normalize: after a bare LF
	stLFDot                     // normalize: after a bare LF and "."
	stLFDotCR                   // normalize: after a bare LF and ".\r"
)

// dotReader turns the DATA stream into the message as stored: CRLF
// becomes LF, a leading dot is removed (RFC 5321 §4.5.2), and the data
// ends only at CRLF "." CRLF, the state starting after a CRLF so that data
// beginning ".\r\n" is empty (qmail-smtpd.c, blast()).
//
// A bare LF is refused as qmail-smtpd refuses it (qmail-smtpd.c
// straynewline(); CVE-2023-51764: the SMTP smuggling defence). A CR not
// followed by LF is refused too, where qmail stored it: it is the other half
// of the smuggling problem, RFC 5322 §2.3 forbids it, and so nothing stored
// ever holds a CR.
//
// With normalize, a bare LF ends a line as CRLF would (Postfix's
// smtpd_forbid_bare_newline = normalize), but a dot line begun after a
// bare LF never ends the data: "\n.\n", "\n.\r\n" and "\r\n.\n" are kept
// as a line holding one dot, so none of the smuggling sequences can end a
// message early in either mode.
type dotReader struct {
	state     dotState
	normalize bool
}

// feed consumes in, appending the stored bytes to out. It returns how
// many bytes of in it used, the new out, whether the end-of-data line was
// read (its bytes included in n), and errBareLF or errBareCR (n then
// stops at the offending byte).
func (d *dotReader) feed(in, out []byte) (n int, _ []byte, end bool, err error) {
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch d.state {
		case stInLine:
			j := i
			for j < len(in) && in[j] != '\r' && in[j] != '\n' {
				j++
			}
			out = append(out, in[i:j]...)
			if j == len(in) {
				return j, out, false, nil
			}
			i = j
			if in[i] == '\r' {
				d.state = stCR
				continue
			}
			if !d.normalize {
				return i, out, false, errBareLF
			}
			out = append(out, '\n')
			d.state = stLFStart
		case stLineStart, stLFStart:
			switch c {
			case '.':
				if d.state == stLineStart {
					d.state = stDot
				} else {
					d.state = stLFDot
				}
			case '\r':
				d.state = stCR
			case '\n':
				if !d.normalize {
					return i, out, false, errBareLF
				}
				out = append(out, '\n')
				d.state = stLFStart
			default:
				out = append(out, c)
				d.state = stInLine
			}
		case stCR:
			if c != '\n' {
				return i, out, false, errBareCR
			}
			out = append(out, '\n')
			d.state = stLineStart
		case stDot, stLFDot:
			switch c {
			case '\r':
				if d.state == stDot {
					d.state = stDotCR
				} else {
					d.state = stLFDotCR
				}
			case '\n':
				if !d.normalize {
					return i, out, false, errBareLF
				}
				out = append(out, '.', '\n')
				d.state = stLFStart
			default:
				// The dot is removed when anything but CR follows
				// (qmail-smtpd.c).
				out = append(out, c)
				d.state = stInLine
			}
		case stDotCR:
			if c != '\n' {
				return i, out, false, errBareCR
			}
			return i + 1, out, true, nil
		case stLFDotCR:
			if c != '\n' {
				return i, out, false, errBareCR
			}
			// "\n.\r\n": not the end of the data.
			out = append(out, '.', '\n')
			d.state = stLineStart
		}
	}
	return len(in), out, false, nil
}

// headerScan follows the header of the stored message (LF line ends).
// For the hop count it is qmail's header: lines up to the first empty
// line, those starting, in any case, with "received" or "delivered" being
// hops (qmail-smtpd.c, blast()). For the size limit the header
// also ends at the first line that is neither a header field (RFC 5322
// §2.2: printable name, then ':') nor a continuation, so that a message
// sent without a header is not mistaken for a huge one.
type headerScan struct {
	done     bool // the empty line was seen: hops are counted
	sizeDone bool // the header's size is known
	pos      int  // bytes since the start of the line, counted up to 9
	notRcv   bool
	notDlv   bool
	inName   bool // inside a field name: no ':' yet
	hops     int
	size     int64
}

// scan follows p. The size is counted up to limit+1 at most.
func (h *headerScan) scan(p []byte, limit int64) {
	for i := 0; i < len(p) && !h.done; i++ {
		c := p[i]
		if h.pos >= 9 && !h.inName && c != '\n' {
			// Nothing more to learn on this line but its length.
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				j = len(p) - i
			}
			h.grow(int64(j), limit)
			i += j - 1
			continue
		}
		h.grow(1, limit)
		if h.pos == 0 {
			if c == '\n' {
				h.done, h.sizeDone = true, true
				return
			}
			h.inName = c != ' ' && c != '\t'
		}
		if h.inName {
			switch {
			case c == ':':
				h.inName = false
			case c < 33 || c > 126:
				h.inName, h.sizeDone = false, true
			}
		}
		if h.pos < 9 {
			lc := c | 0x20 // lower case for letters; never a letter otherwise
			if !h.notDlv && lc != "delivered"[h.pos] {
				h.notDlv = true
			}
			if !h.notDlv && h.pos == 8 {
				h.hops++
			}
			if h.pos < 8 {
				if !h.notRcv && lc != "received"[h.pos] {
					h.notRcv = true
				}
				if !h.notRcv && h.pos == 7 {
					h.hops++
				}
			}
			h.pos++
		}
		if c == '\n' {
			h.pos, h.notRcv, h.notDlv = 0, false, false
		}
	}
}

func (h *headerScan) grow(n, limit int64) {
	if !h.sizeDone {
		h.size = min(h.size+n, limit+1)
	}
}

// tooBig reports whether the header passed limit.
func (h *headerScan) tooBig(limit int64) bool { return h.size > limit }
