// Package ctl is the protocol of the daemon's control socket and its
// client. The CLI and the intake programs use the client; the daemon serves
// the other end.
//
// A connection carries frames: a type byte, a 4-byte big-endian payload
// length and the payload. The client opens with a request frame; a
// submission follows it with data frames holding the message and an
// envelope frame that commits (or an abort frame); the daemon answers with
// zero or more record frames and one response frame. Payloads other than
// data are JSON in the wire forms this package defines (Envelope, Message,
// Stats, ...), converted from and to the store's types here only.
package ctl

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Frame types.
const (
	FrameRequest  byte = 'Q' // client: Request (JSON)
	FrameData     byte = 'D' // client: a piece of the message
	FrameEnvelope byte = 'E' // client: Envelope (JSON); ends the message and commits it
	FrameAbort    byte = 'A' // client: discard the message
	FrameRecord   byte = 'M' // daemon: one listed message (JSON store.Message)
	FrameResponse byte = 'R' // daemon: Response (JSON); last frame of an exchange
)

// MaxFrame bounds a frame's payload; data frames are cut to DataChunk.
const (
	MaxFrame  = 1 << 20
	DataChunk = 64 << 10
)

// WriteFrame writes one frame.
func WriteFrame(w io.Writer, typ byte, payload []byte) error {
	if len(payload) > MaxFrame {
		return fmt.Errorf("ctl: frame of %d bytes exceeds %d", len(payload), MaxFrame)
	}
	var hdr [5]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// WriteJSON writes v as the payload of one frame.
func WriteJSON(w io.Writer, typ byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return WriteFrame(w, typ, b)
}

// ErrFrame reports a malformed frame.
var ErrFrame = errors.New("ctl: malformed frame")

// ReadFrame reads one frame. The payload is valid until the next call with
// the same buf; pass a buffer to reuse.
func ReadFrame(r *bufio.Reader, buf []byte) (typ byte, payload []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > MaxFrame {
		return 0, nil, fmt.Errorf("%w: %d-byte payload", ErrFrame, n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return hdr[0], buf, nil
}

// DataReader reads a submitted message from data frames until the envelope
// or abort frame, which it keeps for the caller.
type DataReader struct {
	r       *bufio.Reader
	buf     []byte
	pending []byte
	// End is the frame that ended the data (FrameEnvelope or FrameAbort)
	// and EndPayload its payload, set once Read returned io.EOF.
	End        byte
	EndPayload []byte
}

// NewDataReader returns a reader of the data frames on r.
func NewDataReader(r *bufio.Reader) *DataReader { return &DataReader{r: r} }

// Read implements io.Reader.
func (d *DataReader) Read(p []byte) (int, error) {
	for len(d.pending) == 0 {
		if d.End != 0 {
			return 0, io.EOF
		}
		typ, payload, err := ReadFrame(d.r, d.buf)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		d.buf = payload[:0]
		switch typ {
		case FrameData:
			d.pending = payload
		case FrameEnvelope, FrameAbort:
			d.End = typ
			d.EndPayload = append([]byte(nil), payload...)
		default:
			return 0, fmt.Errorf("%w: type %q inside a message", ErrFrame, typ)
		}
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	return n, nil
}
