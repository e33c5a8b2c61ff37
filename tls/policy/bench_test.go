package policy

import (
	"testing"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

// BenchmarkDecide measures a decision that stats the qmail-tls files and
// finds a tlshosts pem (parsed once, then cached by its stat identity),
// and one that falls through every source to the default.
func BenchmarkDecide(b *testing.B) {
	dir := b.TempDir()
	ca := certtest.NewCA(b, "Bench CA")
	if err := writeFile(dir+"/tlshosts/mx.example.com.pem", ca.PEM()); err != nil {
		b.Fatal(err)
	}
	e, err := New(Options{ControlDir: dir, Table: map[string]Rule{".example.org": {Level: Encrypt}}})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		in   Input
	}{
		{"tlshosts", Input{Domain: "example.com", Host: "mx.example.com"}},
		{"default", Input{Domain: "example.net", Host: "mx.example.net"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Decide(bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
