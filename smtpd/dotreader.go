package smtpd

import "errors"

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
// beginning ".\r\n" is empty (qmail-semantics.md §2.1, blast()).
//
// A bare LF is refused as qmail-smtpd refuses it (§2.1, §7: the SMTP
// smuggling defence). A CR not followed by LF is refused too, where qmail
// stored it: it is the other half of the smuggling problem, RFC 5322 §2.3
// forbids it, and so nothing stored ever holds a CR.
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
				// (qmail-semantics.md §2.1).
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

// headerScan follows the header of the stored message (LF line ends) to
// count hops and its size. Lines starting, in any case, with "received"
// or "delivered" are hops; the header ends at the first empty line
// (qmail-semantics.md §2.1, blast()).
type headerScan struct {
	done   bool
	pos    int // bytes since the start of the line, counted up to 9
	notRcv bool
	notDlv bool
	hops   int
	size   int64
}

// scan follows p; limit bounds the header size, after which scanning
// stops and size is left just over limit.
func (h *headerScan) scan(p []byte, limit int64) {
	for _, c := range p {
		if h.done {
			return
		}
		h.size++
		if h.size > limit {
			h.done = true
			return
		}
		if h.pos == 0 && c == '\n' {
			h.done = true
			return
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
			} else {
				h.notRcv = true
			}
			h.pos++
		}
		if c == '\n' {
			h.pos, h.notRcv, h.notDlv = 0, false, false
		}
	}
}
