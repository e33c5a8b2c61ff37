package delivery

import (
	"math"
	"strings"
	"time"
)

// DefaultQueueLifetime is qmail's queuelifetime default, one week
// (qmail-send.c nextretry()).
const DefaultQueueLifetime = 604800 * time.Second

// retrySkip is qmail-send's per-channel offset in its retry formula.
var retrySkip = [numChannels]int64{Remote: 20, Local: 10}

// NextRetry is qmail-send's retry schedule (qmail-send.c nextretry(),
// qmail-send.c nextretry): for a pass starting at now, n =
// isqrt(now - born) + 20 (remote) or + 10 (local), or just the offset when
// born is after now, and the next attempt is born + n² seconds. Attempts
// therefore fall near born + (20k)² s remote and born + (10k)² s local.
func NextRetry(ch Channel, born, now time.Time) time.Time {
	skip := retrySkip[Remote]
	if ch == Local {
		skip = retrySkip[Local]
	}
	n := skip
	if !born.After(now) {
		n += isqrt(int64(now.Sub(born) / time.Second))
	}
	// n² seconds overflows a Duration only for messages centuries old.
	secs := n * n
	if secs > math.MaxInt64/int64(time.Second) {
		return born.Add(math.MaxInt64)
	}
	return born.Add(time.Duration(secs) * time.Second)
}

// isqrt returns floor(sqrt(x)) for x ≥ 0, exactly.
func isqrt(x int64) int64 {
	if x <= 0 {
		return 0
	}
	// The float estimate is within one of the answer; the checks divide
	// instead of squaring so they cannot overflow.
	r := int64(math.Sqrt(float64(x)))
	for r > x/r {
		r--
	}
	for r+1 <= x/(r+1) {
		r++
	}
	return r
}

// appendLine adds line to a report text on a line of its own, as
// qmail-send appends to a deferral text that ends in LF.
func appendLine(text, line string) string {
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return text + line
}
