package inject

import (
	"io"
	"strings"
	"testing"
)

// BenchmarkInject measures a typical message from a web application: a
// few address fields to rewrite and a 4 KiB body.
func BenchmarkInject(b *testing.B) {
	msg := "From: \"Web Shop\" <shop@shop.example>\nTo: \"A Customer\" <customer@example.net>\n" +
		"Cc: orders@shop.example, archive\nBcc: audit@shop.example\nSubject: Your order 12345\n" +
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n" + strings.Repeat("Thank you for your order.\n", 160)
	opts := Options{Recipients: RecipBoth}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		m, err := Inject(Input{Options: opts, Env: map[string]string{"USER": "www-data"}, Controls: testControls, Now: testNow, PID: 1},
			strings.NewReader(msg))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, m.Reader()); err != nil {
			b.Fatal(err)
		}
	}
}
