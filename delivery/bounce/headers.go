package bounce

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// headerReader streams the header of a message: everything before the
// first empty line, which it does not return. Lines end in LF, as in the
// queue (qmail-queue.8, qmail-queue.c); a CR before the LF is tolerated. It
// reads a line at a time through a 4 KiB buffer (a longer line comes in
// pieces), so memory stays bounded however long the header is.
type headerReader struct {
	br        *bufio.Reader
	out       []byte // the rest of the current piece, owned by br
	lineStart bool   // the next piece starts a line
	err       error  // sticky: io.EOF at the empty line or the end
}

func newHeaderReader(r io.Reader) *headerReader {
	return &headerReader{br: bufio.NewReaderSize(r, 4096), lineStart: true}
}

func (h *headerReader) Read(p []byte) (int, error) {
	for len(h.out) == 0 {
		if h.err != nil {
			return 0, h.err
		}
		piece, err := h.br.ReadSlice('\n')
		switch {
		case err == nil:
			if h.lineStart && len(bytes.TrimRight(piece, "\r\n")) == 0 {
				h.err = io.EOF // the empty line ends the header
				return 0, io.EOF
			}
		case errors.Is(err, bufio.ErrBufferFull):
		default:
			h.err = err
		}
		h.out = piece
		h.lineStart = err == nil
	}
	n := copy(p, h.out)
	h.out = h.out[n:]
	return n, nil
}
