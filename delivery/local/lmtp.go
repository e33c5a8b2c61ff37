package local

import (
	"context"

	"github.com/qsend/qsend/delivery"
)

// deliverLMTP delivers the LMTP recipients, one transaction per server.
func (t *Transport) deliverLMTP(ctx context.Context, job delivery.Job, rs []rcpt, out []outcome) {
	for _, r := range rs {
		out[r.pos] = deferred("LMTP delivery is not available yet. (#4.3.0)")
	}
}
