package bounce

import (
	"io"
	"os"
	"time"

	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/store"
)

// WarnDedupeKey is the store's deduplication key of the delay warning
// about message id.
func WarnDedupeKey(id store.ID) string { return "warn:" + id.String() }

// ComposeDelay returns the delay warning for orig, whose recipients in
// waiting are still being retried, and its body. qmail has no delay
// warning, so it is a DSN with Action: delayed (RFC 3464 §2.3.3) in
// either Format, returning the original's header only, as Postfix's
// delay_warning_time notice does. It goes from the null sender (RFC 5321
// §4.5.5) to orig's sender, with WarnedOf set so the store marks orig in
// the same commit. ok is false when no warning is owed: the sender is
// null or "#@[]" (a bounce is not warned about, as it is not bounced to
// its sender), or nothing waits.
func ComposeDelay(s Settings, orig store.Message, waiting []store.Recipient, origBody io.Reader, now time.Time, pid int) (nm store.NewMessage, body io.Reader, ok bool) {
	sender, _ := envelope.VERPBase(orig.Sender)
	if sender == "" || sender == DoubleBounceSender || len(waiting) == 0 {
		return store.NewMessage{}, nil, false
	}
	nm = store.NewMessage{
		Recipients: []string{sender},
		Born:       now,
		Intake:     store.Intake{Protocol: "bounce", UID: os.Getuid(), PID: pid},
		DedupeKey:  WarnDedupeKey(orig.ID),
		WarnedOf:   orig.ID,
	}
	return nm, s.sign(writeDSN(s, delayedAction, orig, waiting, origBody, now, pid, sender)), true
}
