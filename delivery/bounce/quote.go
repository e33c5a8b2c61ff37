package bounce

import (
	"strings"

	"github.com/qsend/qsend/internal/envelope"
)

// quoteAddr quotes the local part of an address (everything before the
// last "@") as quote.c's quote2 does; the empty address stays empty.
//
// Deliberate deviation: CR and LF become "_" first. quote.c writes them
// backslash-escaped but raw, so an envelope address holding an LF (which
// qmail-queue's envelope allows) would start a new header line in the
// bounce; qmail's addbounce already turns LF into "_" in the recipient.
func quoteAddr(addr string) string {
	if addr == "" {
		return ""
	}
	return envelope.QuoteAddr(strings.NewReplacer("\r", "_", "\n", "_").Replace(addr))
}
