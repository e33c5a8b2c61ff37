package control

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// MaxSize is the largest control file read. Real ones are far smaller even
// for long rcpthosts lists; the limit keeps a misplaced link to a device or a
// huge file from exhausting memory.
const MaxSize = 64 << 20

// readFile returns the file's contents, ok false if it does not exist.
func readFile(dir, name string) (path string, data []byte, ok bool, err error) {
	path = filepath.Join(dir, name)
	f, err := os.Open(path)
	if err != nil {
		// Only a missing file is "absent"; qmail's control_readline returns
		// 0 for error_noent and -1 (fatal) for everything else (control.c). A
		// missing control directory is absent too.
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil, false, nil
		}
		return path, nil, false, &Error{Path: path, Err: unwrapPath(err)}
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return path, nil, false, &Error{Path: path, Err: unwrapPath(err)}
	}
	if len(data) > MaxSize {
		return path, nil, false, &Error{Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxSize)}
	}
	return path, data, true, nil
}

// unwrapPath drops the *fs.PathError wrapper so that messages name the path
// once: "/var/qmail/control/me: permission denied".
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// ReadFirst reads the single-value file dir/name. ok is false, with a nil
// error, when the file does not exist.
func ReadFirst(dir, name string) (line Line, ok bool, err error) {
	path, data, ok, err := readFile(dir, name)
	if !ok {
		return Line{}, false, err
	}
	return ParseFirst(path, data), true, nil
}

// ReadLine reads the single-value file dir/name and returns its first line.
// ok is false, with a nil error, when the file does not exist.
func ReadLine(dir, name string) (value string, ok bool, err error) {
	line, ok, err := ReadFirst(dir, name)
	return line.Text, ok, err
}

// ReadLines reads the list file dir/name with line numbers. ok is false,
// with a nil error, when the file does not exist; an existing file with no
// entries gives ok true and no lines.
func ReadLines(dir, name string) (lines []Line, ok bool, err error) {
	path, data, ok, err := readFile(dir, name)
	if !ok {
		return nil, false, err
	}
	lines = ParseList(path, data)
	if lines == nil {
		lines = []Line{}
	}
	return lines, true, nil
}

// ReadList reads the list file dir/name. ok is false, with a nil error, when
// the file does not exist; an existing file with no entries gives ok true and
// an empty, non-nil slice.
func ReadList(dir, name string) (values []string, ok bool, err error) {
	lines, ok, err := ReadLines(dir, name)
	if !ok {
		return nil, false, err
	}
	values = make([]string, len(lines))
	for i, l := range lines {
		values[i] = l.Text
	}
	return values, true, nil
}

// ReadInt reads the number file dir/name. ok is false, with a nil error,
// when the file does not exist. A first line that is not a decimal number is
// an *Error naming the file and line 1 (see ParseNumber).
func ReadInt(dir, name string) (n int64, ok bool, err error) {
	line, ok, err := ReadFirst(dir, name)
	if !ok {
		return 0, false, err
	}
	n, err = ParseNumber(line.Text)
	if err != nil {
		return 0, true, &Error{Path: line.Path, Line: line.Num, Err: err}
	}
	return n, true, nil
}
