package bounce

import (
	"io"
	"strings"
	"testing"

	"github.com/qsend/qsend/store"
)

// TestSign: with Settings.Sign, every bounce and delay notice, in both
// formats, is what Sign made of the composed message.
func TestSign(t *testing.T) {
	for _, format := range []string{FormatQmail, FormatDSN} {
		s := dsnSettings(DefaultMaxBody)
		s.Format = format
		var composed []string
		s.Sign = func(r io.Reader) io.Reader {
			b, _ := io.ReadAll(r)
			composed = append(composed, string(b))
			return strings.NewReader("DKIM-Signature: test\n" + string(b))
		}
		_, r, kind := Compose(s, dsnOrig, []store.Recipient{{Addr: "c@example.org", LastResult: "no\n"}}, strings.NewReader(origBody), when, 1)
		if kind != Single {
			t.Fatalf("%s: kind %v", format, kind)
		}
		bounceText, _ := io.ReadAll(r)
		_, r, ok := ComposeDelay(s, dsnOrig, []store.Recipient{{Addr: "slow@example.org", LastAttempt: tried, LastResult: "later\n"}}, strings.NewReader(origBody), when, 1)
		if !ok {
			t.Fatalf("%s: no delay notice", format)
		}
		delayText, _ := io.ReadAll(r)
		if len(composed) != 2 {
			t.Fatalf("%s: Sign called %d times", format, len(composed))
		}
		for i, got := range []string{string(bounceText), string(delayText)} {
			if got != "DKIM-Signature: test\n"+composed[i] || !strings.Contains(composed[i], "From: ") {
				t.Errorf("%s: message %d is\n%.200s", format, i, got)
			}
		}
	}
}
