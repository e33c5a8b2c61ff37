package intake

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/internal/envelope"
)

func TestSubmitNeedsASetUpQueue(t *testing.T) {
	env := func() (envelope.Envelope, error) {
		return envelope.Envelope{Sender: "a@example.com", Recipients: []string{"b@example.com"}}, nil
	}
	tests := []struct {
		name     string
		maildrop bool // the daemon created the maildrop
		code     int  // 0: queued into the maildrop
	}{
		{"never set up", false, ExitNoQueue},
		{"daemon down", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ctl.LayoutOf(t.TempDir())
			if tt.maildrop {
				if err := os.Mkdir(l.Maildrop, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			r, err := Submit(context.Background(), l, 1, strings.NewReader("Subject: x\n\nbody\n"), env)
			if tt.code == 0 {
				if err != nil || r.Maildrop == "" {
					t.Fatalf("Submit = %+v, %v; want a maildrop file", r, err)
				}
				return
			}
			var ie *Error
			if !errors.As(err, &ie) || ie.Code != tt.code {
				t.Fatalf("Submit error = %v, want exit %d", err, tt.code)
			}
			for _, want := range []string{l.Dir, "maildrop", "qsend install"} {
				if !strings.Contains(ie.Msg, want) {
					t.Errorf("message %q does not name %q", ie.Msg, want)
				}
			}
			if ie.Temporary() == false {
				t.Error("exit 111 must be temporary")
			}
		})
	}
}
