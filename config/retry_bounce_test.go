package config

import (
	"testing"
	"time"
)

// TestRetryBounceFields checks that the retry and bounce keys fill their
// Config fields from YAML, with defaults for the keys not given.
func TestRetryBounceFields(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Config
	}{
		{"defaults", "", Config{RetrySchedule: "qmail", RetryInitial: 5 * time.Minute, RetryMax: 4 * time.Hour,
			RetryJitter: 0.2, BounceFormat: "qmail", BounceMaxBody: 1 << 20}},
		{"set", "retry:\n  schedule: exponential\n  initial: 90s\n  max: 2h\n  jitter: 0.5\n" +
			"bounce:\n  format: dsn\n  max_body: 65536\n  delay_warning: 4h\n",
			Config{RetrySchedule: "exponential", RetryInitial: 90 * time.Second, RetryMax: 2 * time.Hour,
				RetryJitter: 0.5, BounceFormat: "dsn", BounceMaxBody: 65536, DelayWarning: 4 * time.Hour}},
		{"integer jitter and seconds", "retry:\n  jitter: 0\n  initial: 600\n",
			Config{RetrySchedule: "qmail", RetryInitial: 10 * time.Minute, RetryMax: 4 * time.Hour,
				RetryJitter: 0, BounceFormat: "qmail", BounceMaxBody: 1 << 20}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := fixture{yaml: tc.yaml}.run(t)
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			if c.RetrySchedule != w.RetrySchedule || c.RetryInitial != w.RetryInitial || c.RetryMax != w.RetryMax ||
				c.RetryJitter != w.RetryJitter || c.BounceFormat != w.BounceFormat || c.BounceMaxBody != w.BounceMaxBody ||
				c.DelayWarning != w.DelayWarning {
				t.Errorf("got %s %v %v %v %s %d %v", c.RetrySchedule, c.RetryInitial, c.RetryMax, c.RetryJitter,
					c.BounceFormat, c.BounceMaxBody, c.DelayWarning)
			}
		})
	}
}
