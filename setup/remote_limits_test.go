package setup

import (
	"testing"
	"time"
)

// TestPerDestination: left at its default, remote.destination_concurrency
// gives way to a quarter of concurrencyremote; set, it holds up to
// concurrencyremote.
func TestPerDestination(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want int
	}{
		{"", 5},
		{"concurrencyremote: 2\n", 1},
		{"concurrencyremote: 200\n", 20},
		{"remote:\n  destination_concurrency: 20\n", 20},
		{"remote:\n  destination_concurrency: 50\nconcurrencyremote: 30\n", 30},
	} {
		if got := perDestination(mxSite(t, tc.yaml)); got != tc.want {
			t.Errorf("%q: %d sessions per destination, want %d", tc.yaml, got, tc.want)
		}
	}
}

// TestRemotePhases: the remote.*_timeout keys reach the SMTP client.
func TestRemotePhases(t *testing.T) {
	cfg := mxSite(t, "remote:\n  helo_timeout: 30s\n  data_done_timeout: 20m\n  min_data_rate: 1000\n")
	p := remoteOptions(cfg, nil, remoteTLS(cfg, nil, nil), nil).Client.Phases
	if p.Helo != 30*time.Second || p.DataDone != 20*time.Minute || p.MinDataRate != 1000 || p.Mail != 5*time.Minute || p.Session != time.Hour {
		t.Errorf("phases %+v", p)
	}
}
