package trace

import (
	"testing"
	"time"
)

func TestReceived(t *testing.T) {
	at := time.Date(1995, 9, 26, 6, 46, 54, 0, time.FixedZone("CEST", 2*3600))
	want := "Received: (qmail 1234 invoked by uid 1000); 26 Sep 1995 04:46:54 -0000\n"
	if got := Received(1234, "by uid 1000", at); got != want {
		t.Errorf("Received = %q, want %q", got, want)
	}
}

func TestWords(t *testing.T) {
	iv := Invokers{alias: 7790, qmaild: 7791, qmails: 7792}
	tests := []struct {
		uid  int
		want string
	}{
		{7790, "by alias"},
		{7791, "from network"},
		{7792, "for bounce"},
		{1000, "by uid 1000"},
		{-1, "by uid unknown"},
	}
	for _, tt := range tests {
		if got := iv.Words(tt.uid); got != tt.want {
			t.Errorf("Words(%d) = %q, want %q", tt.uid, got, tt.want)
		}
	}
}
