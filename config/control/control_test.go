package control

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeControl creates dir/name with the given contents.
func writeControl(t *testing.T, dir, name, contents string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(contents), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		name     string
		contents string // "-" for no file
		want     string
		ok       bool
	}{
		{"missing", "-", "", false},
		{"plain", "mail.example.com\n", "mail.example.com", true},
		{"no newline", "mail.example.com", "mail.example.com", true},
		{"first line only", "one.example\ntwo.example\n", "one.example", true},
		{"trailing spaces and tabs", "one.example \t \n", "one.example", true},
		{"crlf", "one.example\r\n", "one.example", true},
		{"leading space kept", "  one.example\n", "  one.example", true},
		{"empty file", "", "", true},
		{"empty first line", "\npostmaster\n", "", true},
		{"comment is a value", "# not a comment here\n", "# not a comment here", true},
		{"inner space kept", "mail.example.com ESMTP ready\n", "mail.example.com ESMTP ready", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.contents != "-" {
				writeControl(t, dir, "me", tt.contents)
			}
			got, ok, err := ReadLine(dir, "me")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || ok != tt.ok {
				t.Errorf("ReadLine = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestReadList(t *testing.T) {
	tests := []struct {
		name      string
		contents  string // "-" for no file
		want      []string
		wantLines []int
		ok        bool
	}{
		{"missing", "-", nil, nil, false},
		{"empty file", "", []string{}, []int{}, true},
		{"only comments", "# a\n#b\n\n", []string{}, []int{}, true},
		{"plain", "a.example\nb.example\n", []string{"a.example", "b.example"}, []int{1, 2}, true},
		{"last line without newline", "a.example\nb.example", []string{"a.example", "b.example"}, []int{1, 2}, true},
		{"comments and blank lines", "# locals\n\na.example\n  \n#b.example\nc.example\n", []string{"a.example", "c.example"}, []int{3, 6}, true},
		{"trailing whitespace", "a.example \t\r\n", []string{"a.example"}, []int{1}, true},
		{"indented hash is a value", " #x\n", []string{" #x"}, []int{1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.contents != "-" {
				writeControl(t, dir, "locals", tt.contents)
			}
			got, ok, err := ReadList(dir, "locals")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) || ok != tt.ok {
				t.Errorf("ReadList = %q (nil %v), %v; want %q (nil %v), %v", got, got == nil, ok, tt.want, tt.want == nil, tt.ok)
			}
			lines, _, _ := ReadLines(dir, "locals")
			var nums []int
			if lines != nil {
				nums = []int{}
			}
			for _, l := range lines {
				nums = append(nums, l.Num)
				if l.Path != filepath.Join(dir, "locals") {
					t.Errorf("Path = %q", l.Path)
				}
			}
			if !reflect.DeepEqual(nums, tt.wantLines) {
				t.Errorf("line numbers = %v, want %v", nums, tt.wantLines)
			}
		})
	}
}

func TestReadInt(t *testing.T) {
	tests := []struct {
		name     string
		contents string // "-" for no file
		want     int64
		ok       bool
		err      string // "" for none; otherwise the text after "<dir>/"
	}{
		{"missing", "-", 0, false, ""},
		{"plain", "20\n", 20, true, ""},
		{"trailing space", "20 \n", 20, true, ""},
		{"zero", "0", 0, true, ""},
		{"large", "604800\n", 604800, true, ""},
		{"letters", "abc\n", 0, true, `concurrencyremote:1: not a number: "abc"`},
		{"digits then letters", "12abc\n", 0, true, `concurrencyremote:1: not a number: "12abc"`},
		{"leading space", " 12\n", 0, true, `concurrencyremote:1: not a number: " 12"`},
		{"negative", "-1\n", 0, true, `concurrencyremote:1: not a number: "-1"`},
		{"empty", "", 0, true, `concurrencyremote:1: not a number: ""`},
		{"too big", "99999999999999999999\n", 0, true, `concurrencyremote:1: number out of range: "99999999999999999999"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.contents != "-" {
				writeControl(t, dir, "concurrencyremote", tt.contents)
			}
			got, ok, err := ReadInt(dir, "concurrencyremote")
			if tt.err != "" {
				if err == nil || err.Error() != dir+"/"+tt.err {
					t.Fatalf("error = %v, want %s/%s", err, dir, tt.err)
				}
				var ce *Error
				if !errors.As(err, &ce) || ce.Temporary() {
					t.Errorf("error %v: want a permanent *Error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || ok != tt.ok {
				t.Errorf("ReadInt = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the directory to read
		root  bool                                  // meaningful when running as root
		want  string                                // substring after the path
	}{
		{"missing directory", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "nonexistent")
		}, true, ""},
		{"directory named like the file", func(t *testing.T, dir string) string {
			if err := os.Mkdir(filepath.Join(dir, "me"), 0o755); err != nil {
				t.Fatal(err)
			}
			return dir
		}, true, "is a directory"},
		{"control dir is a file", func(t *testing.T, dir string) string {
			writeControl(t, dir, "notadir", "x")
			return filepath.Join(dir, "notadir")
		}, true, "not a directory"},
		{"unreadable", func(t *testing.T, dir string) string {
			writeControl(t, dir, "me", "x\n")
			if err := os.Chmod(filepath.Join(dir, "me"), 0); err != nil {
				t.Fatal(err)
			}
			return dir
		}, false, "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.root && os.Geteuid() == 0 {
				t.Skip("root can read a mode 000 file")
			}
			dir := tt.setup(t, t.TempDir())
			for _, read := range []struct {
				name string
				fn   func() error
			}{
				{"ReadLine", func() error { _, _, err := ReadLine(dir, "me"); return err }},
				{"ReadList", func() error { _, _, err := ReadList(dir, "me"); return err }},
				{"ReadInt", func() error { _, _, err := ReadInt(dir, "me"); return err }},
			} {
				err := read.fn()
				if tt.want == "" {
					if err != nil {
						t.Errorf("%s: %v, want absent", read.name, err)
					}
					continue
				}
				path := filepath.Join(dir, "me")
				if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: error = %v, want %q naming %s", read.name, err, tt.want, path)
				}
				var ce *Error
				if !errors.As(err, &ce) || !ce.Temporary() {
					t.Errorf("%s: %v: want a temporary *Error", read.name, err)
				}
			}
		})
	}
}

func TestLinePos(t *testing.T) {
	l := Line{Path: "/var/qmail/control/me", Num: 1, Text: "x"}
	if got := l.Pos(); got != "/var/qmail/control/me:1" {
		t.Errorf("Pos = %q", got)
	}
}

func TestTooLarge(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	_, _, err := ReadLine("/dev", "zero")
	var ce *Error
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &ce) || ce.Temporary() || ce.Path != "/dev/zero" {
		t.Errorf("error = %v, want a permanent ErrTooLarge naming /dev/zero", err)
	}
}
