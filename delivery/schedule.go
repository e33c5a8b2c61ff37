package delivery

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Retry schedule names (config key retry.schedule).
const (
	// ScheduleQmail is qmail-send's formula, NextRetry: the default.
	ScheduleQmail = "qmail"
	// ScheduleExponential doubles the wait after every deferral of a
	// recipient, as Postfix (minimal_backoff_time 300s doubling up to
	// maximal_backoff_time) and KumoMTA (retry_interval doubling up to
	// max_retry_interval, jittered) do (Postfix postconf(5); KumoMTA make_queue_config).
	ScheduleExponential = "exponential"
)

// Defaults of the exponential schedule (retry.initial, retry.max,
// retry.jitter): Postfix's minimal_backoff_time of 300s as the first
// wait, a cap of 4 hours, and ±20% so mail deferred together (after a
// restart or an outage) does not come back together.
const (
	DefaultRetryInitial = 5 * time.Minute
	DefaultRetryMax     = 4 * time.Hour
	DefaultRetryJitter  = 0.2
)

// Deferral is what a retry schedule knows of one deferred recipient.
type Deferral struct {
	Channel Channel
	Born    time.Time // the message's arrival (qmail's birth)
	Start   time.Time // when the pass that deferred it started
	End     time.Time // when its result came back
	// N counts the recipient's attempts including this one: the deferral
	// is its N-th (at least 1).
	N int
}

// QmailRetry is NextRetry as a schedule: qmail-send computes the next
// attempt from the birth and the time the pass started
// (qmail-send.c nextretry()); the attempt count plays no part.
func QmailRetry(d Deferral) time.Time { return NextRetry(d.Channel, d.Born, d.Start) }

// RetryFunc returns the retry schedule named schedule: ScheduleQmail
// (QmailRetry; the other arguments are ignored) or ScheduleExponential,
// where the N-th deferral waits initial × 2^(N-1), capped at max, then
// scaled by a random factor in [1-jitter, 1+jitter), counted from the
// end of the attempt (so a long SMTP timeout does not eat the wait).
// The cap applies before the jitter, so waits at the cap still spread.
// initial must be positive, max at least initial and jitter in [0, 1].
func RetryFunc(schedule string, initial, max time.Duration, jitter float64) (func(Deferral) time.Time, error) {
	switch schedule {
	case ScheduleQmail, "":
		return QmailRetry, nil
	case ScheduleExponential:
	default:
		return nil, fmt.Errorf("delivery: retry schedule %q unknown (want %s or %s)", schedule, ScheduleQmail, ScheduleExponential)
	}
	if initial <= 0 || max < initial {
		return nil, fmt.Errorf("delivery: retry schedule exponential: initial %v must be positive and at most max %v", initial, max)
	}
	if !(jitter >= 0 && jitter <= 1) { // also refuses NaN
		return nil, fmt.Errorf("delivery: retry schedule exponential: jitter %v is not in 0..1", jitter)
	}
	return exponential(initial, max, jitter, rand.Float64), nil
}

// exponential is the exponential schedule with u as its source of
// uniform numbers in [0, 1).
func exponential(initial, max time.Duration, jitter float64, u func() float64) func(Deferral) time.Time {
	return func(d Deferral) time.Time {
		wait := initial
		// Doubling stops at the cap, so no shift overflows.
		for i := 1; i < d.N && wait < max; i++ {
			wait *= 2
		}
		wait = min(wait, max)
		if jitter > 0 {
			wait = time.Duration(float64(wait) * (1 + jitter*(2*u()-1)))
		}
		return d.End.Add(wait)
	}
}
