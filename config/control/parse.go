package control

import (
	"bytes"
	"fmt"
	"strconv"
)

// Line is one value read from a control file with the place it came from.
type Line struct {
	Path string // the file's path
	Num  int    // 1-based line number
	Text string // the line, trailing whitespace stripped
}

// Pos returns "path:num", the form used in error messages and provenance.
func (l Line) Pos() string { return fmt.Sprintf("%s:%d", l.Path, l.Num) }

// trimTrailing strips what qmail's striptrailingwhitespace strips (space,
// tab, LF) and CR as well (see the package comment).
func trimTrailing(b []byte) []byte {
	return bytes.TrimRight(b, " \t\r\n")
}

// ParseFirst returns the first line of data as a single-value file holds it
// (control.c control_readline(), qmail-control.5). An empty file gives
// an empty line 1, as in qmail, where an empty first line of doublebounceto
// means an empty local part (qmail-send.8).
func ParseFirst(path string, data []byte) Line {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	return Line{Path: path, Num: 1, Text: string(trimTrailing(data))}
}

// ParseList returns the lines of data as a list file holds them: trailing
// whitespace stripped, empty lines and lines starting with '#' skipped
// (control.c control_readfile(), qmail-control.5).
func ParseList(path string, data []byte) []Line {
	var out []Line
	for num := 1; len(data) > 0; num++ {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = trimTrailing(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		out = append(out, Line{Path: path, Num: num, Text: string(line)})
	}
	return out
}

// ParseNumber parses a control-file number: one or more decimal digits and
// nothing else, at most 2^63-1. The error wraps ErrNotNumber or ErrRange and
// quotes s. qmail's scan_ulong would take a leading digit run and ignore the
// rest, or keep the default when there is none (control.c control_rldef());
// qsend refuses both.
func ParseNumber(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: %q", ErrNotNumber, s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %q", ErrNotNumber, s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrRange, s)
	}
	return n, nil
}
