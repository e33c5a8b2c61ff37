package daemon

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/qsend/qsend/intake/maildrop"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/store"
)

// maxHeader bounds how much of a message `queue show` reads for its header.
const maxHeader = 256 << 10

// Stat returns the counters behind `queue stat`. The daemon and the CLI
// (when the daemon is down) share it, so both print the same.
func Stat(st *store.Store, l ctl.Layout) (ctl.Stat, error) {
	s, err := st.Stats()
	if err != nil {
		return ctl.Stat{}, err
	}
	names, err := maildrop.Names(l.Maildrop)
	if err != nil && !errors.Is(err, io.EOF) && !isNotExist(err) {
		return ctl.Stat{}, err
	}
	return ctl.Stat{Messages: s.Messages, Unprocessed: len(names), Store: ctl.StatsOf(s)}, nil
}

// Show returns a message's metadata and its header section, for
// `queue show`.
func Show(st *store.Store, id store.ID) (ctl.Shown, error) {
	m, err := st.Get(id)
	if err != nil {
		return ctl.Shown{}, err
	}
	body, err := st.Body(id)
	if err != nil {
		return ctl.Shown{}, err
	}
	defer body.Close()
	h, err := readHeader(body, maxHeader)
	if err != nil {
		return ctl.Shown{}, err
	}
	return ctl.Shown{Message: ctl.MessageOf(m), Header: h}, nil
}

// readHeader returns the header section of a message: everything before
// the first empty line (stored messages end lines with LF, as qmail's do;
// a CR before it is tolerated), at most max bytes.
func readHeader(r io.Reader, max int) (string, error) {
	br := bufio.NewReader(io.LimitReader(r, int64(max)))
	var h bytes.Buffer
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && (string(line) == "\n" || string(line) == "\r\n") {
			break
		}
		h.Write(line)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return h.String(), nil
}
