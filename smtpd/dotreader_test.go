package smtpd

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// readAll feeds in to a dotReader in pieces of size step (0: whole).
func readAll(in []byte, normalize bool, step int) (out []byte, n int, end bool, err error) {
	d := dotReader{normalize: normalize}
	if step <= 0 {
		step = len(in) + 1
	}
	for n < len(in) {
		chunk := in[n:min(n+step, len(in))]
		used, o, e, ferr := d.feed(chunk, nil)
		out = append(out, o...)
		n += used
		if ferr != nil || e {
			return out, n, e, ferr
		}
	}
	return out, n, false, nil
}

func TestDotReader(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		normalize bool
		out       string
		end       int // bytes used up to the end of data; -1: no end
		err       error
	}{
		{name: "empty", in: ".\r\n", out: "", end: 3},
		{name: "plain", in: "a\r\nb\r\n.\r\nafter", out: "a\nb\n", end: 9},
		{name: "unstuffing", in: "..\r\n.a\r\n...\r\n.\r\n", out: ".\na\n..\n", end: 16},
		{name: "no end", in: "a\r\nb", out: "a\nb", end: -1},
		{name: "dot in a line", in: "a.\r\n.b.\r\n.\r\n", out: "a.\nb.\n", end: 12},
		{name: "blank lines", in: "\r\n\r\n.\r\n", out: "\n\n", end: 7},
		{name: "bare LF", in: "a\nb", out: "a", err: errBareLF},
		{name: "bare LF at line start", in: "a\r\n\n", out: "a\n", err: errBareLF},
		{name: "LF.LF", in: "a\n.\n", out: "a", err: errBareLF},
		{name: "CRLF.LF", in: "a\r\n.\nMAIL", out: "a\n", err: errBareLF},
		{name: "LF.CRLF", in: "a\n.\r\n", out: "a", err: errBareLF},
		{name: "CR.CRLF", in: "a\r.\r\n", out: "a", err: errBareCR},
		{name: "bare CR", in: "a\rb\r\n", out: "a", err: errBareCR},
		{name: "dot CR x", in: "\r\n.\rx", out: "\n", err: errBareCR},
		{name: "CRCRLF", in: "a\r\r\n", out: "a", err: errBareCR},
		{name: "normalize: LF lines", in: "a\nb\n.\r\n", normalize: true, out: "a\nb\n.\n", end: -1},
		{name: "normalize: LF.LF", in: "a\n.\nb\r\n.\r\n", normalize: true, out: "a\n.\nb\n", end: 10},
		{name: "normalize: CRLF.LF", in: "a\r\n.\nb\r\n.\r\n", normalize: true, out: "a\n.\nb\n", end: 11},
		{name: "normalize: LF.CRLF", in: "a\n.\r\nb\r\n.\r\n", normalize: true, out: "a\n.\nb\n", end: 11},
		{name: "normalize: LF stuffing", in: "a\n..b\n\r\n.\r\n", normalize: true, out: "a\n.b\n\n", end: 11},
		{name: "normalize: bare CR", in: "a\r.\r\n", normalize: true, out: "a", err: errBareCR},
		{name: "normalize: data starting LF", in: "\n.\r\n.\r\n", normalize: true, out: "\n.\n", end: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, step := range []int{0, 1, 2, 3} {
				out, n, end, err := readAll([]byte(tt.in), tt.normalize, step)
				if !errors.Is(err, tt.err) {
					t.Fatalf("step %d: error %v, want %v", step, err, tt.err)
				}
				if string(out) != tt.out {
					t.Fatalf("step %d: out %q, want %q", step, out, tt.out)
				}
				if tt.err == nil {
					if gotEnd := map[bool]int{true: n, false: -1}[end]; gotEnd != tt.end {
						t.Fatalf("step %d: end at %d, want %d", step, gotEnd, tt.end)
					}
				}
			}
		})
	}
}

func TestHeaderScan(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		hops int
		size int64
	}{
		{name: "hops", msg: "Received: a\nreceived: b\nRECEIVED:c\nDelivered-To: d\nReceivedX: y\nX-Received: e\n\nReceived: body\n", hops: 5, size: 79},
		{name: "short lines", msg: "Rec: 1\nDeliver: 2\nreceive: 3\n\n", hops: 0, size: 30},
		{name: "no header", msg: "just text\nReceived: x\n", hops: 1, size: 5},
		{name: "continuation", msg: "Subject: a\n b\n\tc\n\nbody", hops: 0, size: 18},
		{name: "empty", msg: "\nReceived: x\n", hops: 0, size: 1},
	}
	for _, tt := range tests {
		for _, step := range []int{1, 3, 1000} {
			var h headerScan
			for i := 0; i < len(tt.msg); i += step {
				h.scan([]byte(tt.msg[i:min(i+step, len(tt.msg))]), 1<<20)
			}
			if h.hops != tt.hops || h.size != tt.size {
				t.Errorf("%s, step %d: hops %d size %d, want %d %d", tt.name, step, h.hops, h.size, tt.hops, tt.size)
			}
		}
	}
	var h headerScan
	h.scan([]byte(strings.Repeat("X-A: b\n", 100)), 50)
	if !h.tooBig(50) || h.size != 51 {
		t.Errorf("limit: size %d", h.size)
	}
}

// checkDotReader is FuzzData's invariant, also used by the unit tests: no
// CR in what is stored, the end found exactly at the first CRLF.CRLF (the
// data starting after a CRLF), never earlier; the same result however
// the input is cut.
func checkDotReader(t *testing.T, in []byte, normalize bool) {
	out, n, end, err := readAll(in, normalize, 0)
	if bytes.IndexByte(out, '\r') >= 0 {
		t.Fatalf("stored a CR: %q", out)
	}
	first := bytes.Index(append([]byte("\r\n"), in...), []byte("\r\n.\r\n"))
	switch {
	case end:
		if first < 0 || n != first+3 {
			t.Fatalf("ended at %d, first CRLF.CRLF ends at %d: %q", n, first+3, in)
		}
	case err != nil:
		if first >= 0 && first+3 <= n {
			t.Fatalf("error %v at %d after the end at %d", err, n, first+3)
		}
		if !normalize && errors.Is(err, errBareLF) && in[n] != '\n' {
			t.Fatalf("bare LF reported at %q", in[n])
		}
	default:
		if first >= 0 {
			t.Fatalf("no end, but CRLF.CRLF ends at %d: %q", first+3, in)
		}
	}
	if !normalize && err == nil && bytes.IndexByte(in[:n], '\n') >= 0 && bytes.Count(in[:n], []byte("\r\n")) != bytes.Count(in[:n], []byte("\n")) {
		t.Fatalf("accepted a bare LF: %q", in[:n])
	}
	for _, step := range []int{1, 2, 7} {
		out2, n2, end2, err2 := readAll(in, normalize, step)
		if !bytes.Equal(out, out2) || n != n2 || end != end2 || !errors.Is(err2, err) {
			t.Fatalf("in steps of %d: %q %d %v %v, whole: %q %d %v %v", step, out2, n2, end2, err2, out, n, end, err)
		}
	}
}
