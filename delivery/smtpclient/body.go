package smtpclient

import (
	"bufio"
	"io"
)

// writeBody copies the stored message to w in SMTP transparency form
// (RFC 5321 §4.5.2) with CRLF line ends, followed by the final ".\r\n".
// It streams through buf: only one buffer of the body is held.
//
// Line ends follow notqmail (qmail-remote.c blast()): a stored LF becomes
// CRLF, a stored CRLF stays CRLF, and a bare CR becomes CRLF so that no
// bare-CR sequence reaches the next hop (SMTP smuggling,
// CVE-2023-51764; RFC 5321 §2.3.8).
// Deviation from qmail-remote, which fails a message whose last line has no
// line end with "partial final lines (#5.6.2)": the line end is added.
func writeBody(w *bufio.Writer, body io.Reader, buf []byte) (readErr, writeErr error) {
	atStart, cr := true, false
	for {
		n, err := body.Read(buf)
		p := buf[:n]
		run := 0 // start of the bytes not yet copied
		for i := 0; i < len(p); i++ {
			b := p[i]
			if cr {
				cr = false
				if b == '\n' {
					run = i + 1
					continue
				}
			}
			switch {
			case b == '\r':
				w.Write(p[run:i])
				w.WriteString("\r\n")
				run = i + 1
				cr, atStart = true, true
			case b == '\n':
				w.Write(p[run:i])
				w.WriteString("\r\n")
				run = i + 1
				atStart = true
			case atStart:
				atStart = false
				if b == '.' {
					w.Write(p[run:i])
					w.WriteByte('.')
					run = i
				}
			}
		}
		if _, werr := w.Write(p[run:]); werr != nil {
			return nil, werr
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err, nil
		}
	}
	if !atStart {
		w.WriteString("\r\n")
	}
	_, err := w.WriteString(".\r\n")
	return nil, err
}
