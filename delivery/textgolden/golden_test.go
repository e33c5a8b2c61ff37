// Package textgolden holds the golden list of every text qsend can put
// into a recipient's last result (and so into `queue show`, the delivery
// log and bounces) or into the wording of a bounce: each package that
// produces such texts keeps them in its texts.go and lists them with
// Texts(). A change to any of them fails TestTexts until testdata/texts.golden
// is regenerated with `go test ./delivery/textgolden -update`, so that no
// text changes by accident: administrators' tools match these texts, and
// qmail's are reproduced byte for byte.
package textgolden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/delivery/bounce"
	"github.com/qsend/qsend/delivery/local"
	"github.com/qsend/qsend/delivery/remote"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/tls/policy"
)

var update = flag.Bool("update", false, "rewrite testdata/texts.golden")

// TestTexts compares every package's texts, in a fixed order, with
// testdata/texts.golden: one Go-quoted text a line, so that every byte
// (a final LF included) shows.
func TestTexts(t *testing.T) {
	packages := []struct {
		name  string
		texts []string
	}{
		{"mx", mx.Texts()},
		{"tls/policy", policy.Texts()},
		{"delivery", delivery.Texts()},
		{"delivery/remote", remote.Texts()},
		{"delivery/local", local.Texts()},
		{"delivery/bounce", bounce.Texts()},
	}
	var b bytes.Buffer
	b.WriteString("# Every text qsend can store as a result or write into a bounce; regenerate\n" +
		"# with: go test ./delivery/textgolden -update\n")
	seen := map[string]string{}
	for _, p := range packages {
		fmt.Fprintf(&b, "\n[%s]\n", p.name)
		for _, text := range p.texts {
			if text == "" {
				t.Errorf("%s: an empty text", p.name)
			}
			if prev, dup := seen[text]; dup {
				t.Errorf("%s: %q is also in %s: a text has one home", p.name, text, prev)
			}
			seen[text] = p.name
			b.WriteString(strconv.Quote(text) + "\n")
		}
	}
	path := filepath.Join("testdata", "texts.golden")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("the texts differ from %s (go test -update rewrites it after a deliberate change):\n%s", path, diff(string(want), b.String()))
	}
}

// diff lists the lines of got that are not in want and those of want that
// are not in got.
func diff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range bytes.Split([]byte(s), []byte("\n")) {
			m[string(l)] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b bytes.Buffer
	for _, l := range bytes.Split([]byte(want), []byte("\n")) {
		if !g[string(l)] {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range bytes.Split([]byte(got), []byte("\n")) {
		if !w[string(l)] {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}
