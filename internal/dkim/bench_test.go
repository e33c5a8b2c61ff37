package dkim

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
)

// BenchmarkSign measures signing one message, read from memory as the
// daemon's spool gives it, for each key type and size.
func BenchmarkSign(b *testing.B) {
	for _, alg := range []string{"rsa", "ed25519"} {
		dir := b.TempDir()
		writeKey(b, dir, "example.com", "s", alg)
		ks, err := Load(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		s := New(ks, Options{ScratchDir: b.TempDir()})
		for _, size := range []int{2 << 10, 100 << 10} {
			head := "From: alice@example.com\nTo: bob@example.net\nSubject: benchmark\nDate: Thu, 03 Dec 2026 19:00:00 +0000\nMessage-ID: <1@example.com>\n\n"
			line := strings.Repeat("x", 75) + "\n"
			msg := head + strings.Repeat(line, (size-len(head))/len(line))
			b.Run(alg+"/"+sizeName(size), func(b *testing.B) {
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				for b.Loop() {
					m, err := s.Sign(context.Background(), strings.NewReader(msg), "")
					if err != nil || m.Domain == "" {
						b.Fatal(err)
					}
					io.Copy(io.Discard, m)
					m.Close()
				}
			})
		}
	}
}

func sizeName(n int) string { return fmt.Sprintf("%dKB", n>>10) }
