package qregex

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/qsend/qsend/config/control"
	"github.com/qsend/qsend/internal/envelope"
)

// List is a compiled qregex control file. A nil *List lists nothing.
// Its methods may be called from several goroutines at once.
type List struct {
	entries []entry
}

type entry struct {
	line    string // the line as written, '!' included
	negate  bool
	re      *regexp.Regexp
	literal string // the line itself for the vanilla comparison; "" when negated
}

// Compile compiles the lines of the control file called name, one pattern
// per line as control.ReadList returns them. Errors read
// "<name> line N: ..." with N the 1-based index in lines.
func Compile(name string, lines []string) (*List, error) {
	cl := make([]control.Line, len(lines))
	for i, l := range lines {
		cl[i] = control.Line{Path: name, Num: i + 1, Text: l}
	}
	return compile(cl, func(l control.Line) string { return l.Path + " line " + strconv.Itoa(l.Num) })
}

// CompileLines compiles lines read by control.ReadLines; errors name
// "path:line" of the file.
func CompileLines(lines []control.Line) (*List, error) {
	return compile(lines, control.Line.Pos)
}

// Load reads and compiles dir/name. A missing file gives a nil *List
// (nothing listed) and no error, as qregex skips an absent control file.
func Load(dir, name string) (*List, error) {
	lines, ok, err := control.ReadLines(dir, name)
	if err != nil || !ok {
		return nil, err
	}
	return CompileLines(lines)
}

func compile(lines []control.Line, pos func(control.Line) string) (*List, error) {
	l := &List{entries: make([]entry, 0, len(lines))}
	for _, line := range lines {
		e := entry{line: line.Text}
		pat := line.Text
		if strings.HasPrefix(pat, "!") {
			// README.qregex: a leading '!' negates.
			e.negate = true
			pat = pat[1:]
		} else {
			e.literal = pat
		}
		goPat, err := translate(pat)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", pos(line), line.Text, err)
		}
		// REG_ICASE; and '.' matches any character, newline included, as
		// without REG_NEWLINE.
		e.re, err = regexp.Compile("(?is)" + goPat)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", pos(line), line.Text, err)
		}
		l.entries = append(l.entries, e)
	}
	return l, nil
}

// Match reports whether s is listed.
func (l *List) Match(s string) bool {
	_, ok := l.MatchPattern(s)
	return ok
}

// MatchPattern reports whether s is listed and returns the line that
// lists it, '!' included, for the log line that qregex writes when
// LOGREGEX is set (README.qregex).
func (l *List) MatchPattern(s string) (line string, ok bool) {
	if l == nil {
		return "", false
	}
	for _, e := range l.entries {
		matched := e.re.MatchString(s)
		if e.negate {
			matched = !matched
		} else if !matched {
			matched = vanilla(e.literal, s)
		}
		if matched {
			return e.line, true
		}
	}
	return "", false
}

// Len returns the number of patterns.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.entries)
}

// vanilla reports whether qmail-smtpd without qregex lists s for the
// badmailfrom line: s equal to it, or for "@domain" the part of s from its
// last '@' (qmail-smtpd.c bmfcheck(), constmap is
// case-insensitive).
func vanilla(line, s string) bool {
	if strings.EqualFold(line, s) {
		return true
	}
	if strings.HasPrefix(line, "@") {
		if _, domain, ok := envelope.Split(s); ok {
			return strings.EqualFold(line[1:], domain)
		}
	}
	return false
}
