// Package intake is the qmail-queue interface shared by every program that
// puts mail into qsend's queue: the envelope format, qmail-queue's exit codes
// and their meanings, and the submission path (the daemon's control socket,
// or the maildrop directory when the daemon is not running).
package intake

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/qsend/qsend/internal/envelope"
)

// MaxAddrLen is the longest envelope address qmail-queue accepts, including
// its terminating NUL (qmail-queue.c ADDR: each address limited to
// 1003 bytes including terminator).
const MaxAddrLen = 1003

// ReadEnvelope parses qmail-queue's envelope from r: `F<sender>\0`, then
// `T<recipient>\0` repeated, then one more `\0` (qmail-queue.8, envelope).
// Errors are *Error values carrying qmail-queue's exit code: 91 for a record
// that does not start with F or T, 11 for an address too long, 54 for a read
// error or an envelope that ends before its final NUL.
func ReadEnvelope(r io.Reader) (envelope.Envelope, error) {
	br := bufio.NewReaderSize(r, 4096)
	var env envelope.Envelope
	first := true
	for {
		c, err := br.ReadByte()
		if err != nil {
			return envelope.Envelope{}, readError("envelope ended before its final NUL", err)
		}
		if c == 0 && !first {
			break // the empty record that ends the envelope
		}
		want := byte('T')
		if first {
			want = 'F'
		}
		if c != want {
			return envelope.Envelope{}, Errorf(ExitEnvelope, "envelope record starts with %q, expected %q", c, want)
		}
		addr, err := readAddr(br)
		if err != nil {
			return envelope.Envelope{}, err
		}
		if first {
			env.Sender = addr
			first = false
		} else {
			env.Recipients = append(env.Recipients, addr)
		}
	}
	return env, Validate(env)
}

// Validate checks an envelope that did not come through ReadEnvelope (a
// maildrop trailer, a socket submission) by the same rules.
func Validate(env envelope.Envelope) error {
	if len(env.Recipients) == 0 {
		// qmail-queue would queue a message that qmail-send can only throw
		// away; qsend refuses it instead (docs/qmail.md, deliberate differences).
		return Errorf(ExitEnvelope, "envelope has no recipients")
	}
	for _, a := range append([]string{env.Sender}, env.Recipients...) {
		if len(a) >= MaxAddrLen {
			return Errorf(ExitAddrTooLong, "envelope address longer than %d bytes", MaxAddrLen-1)
		}
		if strings.IndexByte(a, 0) >= 0 {
			return Errorf(ExitEnvelope, "envelope address contains NUL")
		}
	}
	return nil
}

// readAddr reads one address up to and including its NUL.
func readAddr(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice(0)
		buf = append(buf, chunk...)
		// qmail-queue reads at most 1003 bytes of address and terminator
		// after the record letter (qmail-queue.c, ADDR).
		if len(buf) > MaxAddrLen {
			return "", Errorf(ExitAddrTooLong, "envelope address longer than %d bytes", MaxAddrLen-1)
		}
		if err == nil {
			return string(buf[:len(buf)-1]), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", readError("envelope ended inside an address", err)
		}
	}
}

func readError(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Errorf(ExitReadError, "%s", what)
	}
	return &Error{Code: ExitReadError, Msg: fmt.Sprintf("%s: %v", what, err), Err: err}
}

// AppendEnvelope appends env in qmail-queue's format to b.
func AppendEnvelope(b []byte, env envelope.Envelope) []byte {
	b = append(b, 'F')
	b = append(b, env.Sender...)
	b = append(b, 0)
	for _, r := range env.Recipients {
		b = append(b, 'T')
		b = append(b, r...)
		b = append(b, 0)
	}
	return append(b, 0)
}
