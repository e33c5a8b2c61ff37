package local

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// maxHeader bounds how much of a message the loop check reads.
const maxHeader = 1 << 20

// deliveredTo returns the addresses of the message's Delivered-To fields,
// lower-cased, for qmail-local's loop check: a header field
// "Delivered-To: <address>" equal, ignoring case, to the line qmail-local
// would add means the message has been here before.
func deliveredTo(body func() (io.ReadCloser, error)) (map[string]bool, error) {
	rc, err := body()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return scanDeliveredTo(io.LimitReader(rc, maxHeader))
}

// scanDeliveredTo reads header lines up to the first empty line (RFC 5322
// §2.1) and collects the Delivered-To values.
func scanDeliveredTo(r io.Reader) (map[string]bool, error) {
	seen := map[string]bool{}
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// An over-long line: skip the rest of it.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			line = nil
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(line) > 0 && len(trimmed) == 0 {
			return seen, nil // end of header
		}
		if name, value, ok := bytes.Cut(trimmed, []byte(":")); ok && strings.EqualFold(string(name), "Delivered-To") {
			seen[strings.ToLower(strings.TrimSpace(string(value)))] = true
		}
		if err == io.EOF {
			return seen, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
