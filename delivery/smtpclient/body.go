package smtpclient

import (
	"bufio"
	"io"
)

// MaxLine is the longest line, in octets without its CRLF, that the body
// writer sends: RFC 5322 §2.1.1 and RFC 5321 §4.5.3.1.6 (1000 octets with
// the CRLF). Longer lines are folded as Postfix's smtp_line_length_limit
// (998) does.
const MaxLine = 998

// writeBody copies the stored message to w in SMTP transparency form
// (RFC 5321 §4.5.2) with CRLF line ends, followed by the final ".\r\n".
// It streams through buf: only one buffer of the body is held, and line
// (of capacity MaxLine+1 at least) holds the header line being written.
//
// Line ends follow notqmail (qmail-remote.c blast()): a stored LF becomes
// CRLF, a stored CRLF stays CRLF, and a bare CR becomes CRLF so that no
// bare-CR sequence reaches the next hop (SMTP smuggling,
// CVE-2023-51764; RFC 5321 §2.3.8).
// Deviation from qmail-remote, which fails a message whose last line has no
// line end with "partial final lines (#5.6.2)": the line end is added.
//
// Deviation from qmail-remote, which sends lines unchanged: a line longer
// than MaxLine is folded (docs/remote.md). In the header (up to the first
// empty line) it is folded at the last space or tab within the limit, the
// whitespace starting the continuation line (RFC 5322 §2.2.3), or with
// CRLF SP inserted at the limit when there is none; in the body a CRLF is
// inserted at the limit.
func writeBody(w *bufio.Writer, body io.Reader, buf, line []byte) (readErr, writeErr error) {
	b := bodyWriter{w: w, header: true, hl: line[:0], lineStart: true}
	for {
		n, err := body.Read(buf)
		p := buf[:n]
		if b.header {
			p = b.headerBytes(p)
		}
		b.bodyBytes(p)
		if _, werr := w.Write(nil); werr != nil {
			return nil, werr // bufio.Writer's error is sticky
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err, nil
		}
	}
	if b.header && len(b.hl) > 0 {
		b.headerLine()
		w.WriteString("\r\n")
	} else if !b.header && b.col != 0 {
		w.WriteString("\r\n")
	}
	_, err := w.WriteString(".\r\n")
	return nil, err
}

// bodyWriter is the state of writeBody between reads.
type bodyWriter struct {
	w         *bufio.Writer
	cr        bool   // the last byte was a CR: a following LF is its line end
	header    bool   // still in the header: no empty line seen yet
	hl        []byte // the header line not yet written, at most MaxLine+1 octets
	lineStart bool   // hl starts a line of the message, not a continuation made here
	col       int    // octets of the current body line on the wire
}

// headerBytes takes the header part of p, one line at a time into hl, and
// returns what follows the empty line that ends the header (nil when the
// header goes on).
func (b *bodyWriter) headerBytes(p []byte) []byte {
	for len(p) > 0 {
		if b.cr {
			b.cr = false
			if p[0] == '\n' {
				p = p[1:]
				continue
			}
		}
		i := 0
		for i < len(p) && p[i] != '\n' && p[i] != '\r' {
			i++
		}
		for seg := p[:i]; len(seg) > 0; {
			k := min(len(seg), MaxLine+1-len(b.hl))
			b.hl = append(b.hl, seg[:k]...)
			seg = seg[k:]
			if len(b.hl) > MaxLine {
				b.fold()
			}
		}
		if i == len(p) {
			return nil
		}
		empty := len(b.hl) == 0
		b.headerLine()
		b.w.WriteString("\r\n")
		b.hl, b.lineStart = b.hl[:0], true
		b.cr = p[i] == '\r'
		p = p[i+1:]
		if empty {
			b.header = false
			return p
		}
	}
	return nil
}

// headerLine writes hl, dot-stuffed when it starts a line of the message
// (RFC 5321 §4.5.2).
func (b *bodyWriter) headerLine() {
	if b.lineStart && len(b.hl) > 0 && b.hl[0] == '.' {
		b.w.WriteByte('.')
	}
	b.w.Write(b.hl)
}

// fold writes the first part of a header line of MaxLine+1 octets and
// keeps the rest in hl as a continuation line (RFC 5322 §2.2.3): up to the
// last space or tab after the first octet, or the first MaxLine octets
// followed by CRLF SP when there is no such whitespace.
func (b *bodyWriter) fold() {
	cut := 0
	for j := MaxLine; j > 0; j-- {
		if b.hl[j] == ' ' || b.hl[j] == '\t' {
			cut = j
			break
		}
	}
	rest := []byte(nil)
	if cut > 0 {
		b.hl, rest = b.hl[:cut], b.hl[cut:]
	} else {
		b.hl, rest = b.hl[:MaxLine], b.hl[MaxLine:]
	}
	b.headerLine()
	b.w.WriteString("\r\n")
	b.lineStart = false
	n := 0
	if cut == 0 {
		b.hl = append(b.hl[:0], ' ')
		n = 1
	}
	// rest lies after hl's new content in the same array: copy moves it
	// down without overlap trouble.
	b.hl = b.hl[:n+copy(b.hl[n:cap(b.hl)], rest)]
}

// bodyBytes writes p, a part of the body after the header: line ends as
// CRLF, dot-stuffing, and a CRLF inserted into a line at MaxLine octets.
func (b *bodyWriter) bodyBytes(p []byte) {
	w, col, cr := b.w, b.col, b.cr
	run := 0 // start of the bytes not yet copied
	for i := 0; i < len(p); i++ {
		c := p[i]
		if cr {
			cr = false
			if c == '\n' {
				run = i + 1
				continue
			}
		}
		switch {
		case c == '\r':
			w.Write(p[run:i])
			w.WriteString("\r\n")
			run = i + 1
			cr, col = true, 0
		case c == '\n':
			w.Write(p[run:i])
			w.WriteString("\r\n")
			run = i + 1
			col = 0
		case col == 0:
			col = 1
			if c == '.' {
				w.Write(p[run:i])
				w.WriteByte('.')
				run = i
			}
		case col == MaxLine:
			w.Write(p[run:i])
			w.WriteString("\r\n")
			if c == '.' {
				w.WriteByte('.')
			}
			run = i
			col = 1
		default:
			col++
		}
	}
	w.Write(p[run:])
	b.col, b.cr = col, cr
}
