package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// manDir is where scripts/man writes the man pages, relative to this
// package.
var manDir = filepath.Join("..", "..", "docs", "man")

// TestManPages renders each committed man page with man-db and groff's
// warnings on (man --warnings, as man -l would show it to a reader): no
// warning may appear, and each page has its sections. A page whose
// Markdown changed without scripts/man being run shows up here as a
// missing section or key.
func TestManPages(t *testing.T) {
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man is not installed (scripts/test installs man-db and groff-base)")
	}
	pages := []struct {
		file     string
		sections []string
	}{
		{"qsend.8", []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "SIGNALS", "FILES", "EXIT STATUS", "SEE ALSO"}},
		{"qsend.yaml.5", []string{"NAME", "SYNOPSIS", "DESCRIPTION", "SOURCES AND PRECEDENCE", "RELOADING", "KEYS: GENERAL", "FILES", "SEE ALSO"}},
	}
	for _, p := range pages {
		t.Run(p.file, func(t *testing.T) {
			path := filepath.Join(manDir, p.file)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			have := manSections(src)
			for _, s := range p.sections {
				if !have[s] {
					t.Errorf("%s has no section %q (run scripts/man)", p.file, s)
				}
			}
			cmd := exec.Command("man", "--warnings", "-l", "-Tutf8", path)
			cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("man -l %s: %v\n%s", p.file, err, stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("man --warnings -l %s warns:\n%s", p.file, stderr.String())
			}
			if stdout.Len() == 0 {
				t.Errorf("man -l %s rendered nothing", p.file)
			}
		})
	}
}

// TestManPagesCurrent checks the generated pages against their Markdown:
// every section of qsend.8.md is in qsend.8, and every key of the
// configuration reference is a subsection of qsend.yaml.5.
func TestManPagesCurrent(t *testing.T) {
	md8, err := os.ReadFile(filepath.Join(manDir, "qsend.8.md"))
	if err != nil {
		t.Fatal(err)
	}
	man8, err := os.ReadFile(filepath.Join(manDir, "qsend.8"))
	if err != nil {
		t.Fatal(err)
	}
	have8 := manSections(man8)
	for _, line := range lines(md8) {
		if s, ok := strings.CutPrefix(line, "# "); ok && !have8[s] {
			t.Errorf("qsend.8 lacks the section %q of qsend.8.md (run scripts/man)", s)
		}
	}

	ref, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	man5, err := os.ReadFile(filepath.Join(manDir, "qsend.yaml.5"))
	if err != nil {
		t.Fatal(err)
	}
	subsections := map[string]bool{}
	for _, line := range lines(man5) {
		if s, ok := strings.CutPrefix(line, ".SS "); ok {
			subsections[unroff(s)] = true
		}
	}
	keys := 0
	for _, line := range lines(ref) {
		if k, ok := strings.CutPrefix(line, "#### "); ok {
			keys++
			if k = strings.Trim(k, "`"); !subsections[k] {
				t.Errorf("qsend.yaml.5 has no entry for the key %q of docs/configuration.md (run scripts/man)", k)
			}
		}
	}
	if keys == 0 {
		t.Error("docs/configuration.md lists no keys")
	}
}

// manSections returns the .SH headings of a groff page, unquoted.
func manSections(src []byte) map[string]bool {
	have := map[string]bool{}
	for _, line := range lines(src) {
		if s, ok := strings.CutPrefix(line, ".SH "); ok {
			have[unroff(s)] = true
		}
	}
	return have
}

// unroff strips the quotes, font changes and escaped hyphens go-md2man
// writes into a heading.
func unroff(s string) string {
	s = strings.Trim(s, `"`)
	s = strings.NewReplacer(`\fB`, "", `\fR`, "", `\fP`, "", `\fI`, "", `\-`, "-", `\&`, "").Replace(s)
	return strings.TrimSpace(s)
}

// lines splits b into its lines.
func lines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
