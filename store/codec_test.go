package store

import (
	"reflect"
	"testing"
	"time"
)

func sampleRecords() []*record {
	full := &record{
		Message: Message{
			ID:     7,
			Sender: "alice@example.org",
			Recipients: []Recipient{
				{Addr: "bob@example.com", State: Deferred, Attempts: 3, NextAttempt: t0.Add(time.Hour), LastAttempt: t0.Add(time.Minute), LastResult: "Connected to 192.0.2.7 but greeting failed."},
				{Addr: "carol@example.net", State: Delivered, Attempts: 1, NextAttempt: t0, LastAttempt: t0, LastResult: "Remote host said: 250 2.0.0 Ok: queued as 4ZxY"},
				{Addr: "", State: Failed, Attempts: 1, LastResult: "Sorry, I couldn't find any host named example.invalid. (#5.1.2)"},
				{Addr: "dave@example.org", State: Pending, NextAttempt: t0},
			},
			Born:     t0,
			Size:     123456,
			Held:     true,
			Warned:   true,
			SMTPUTF8: true,
			Intake: Intake{Protocol: "esmtps", UID: -1, PID: 0, ClientAddr: "2001:db8::1", HELO: "mail.example.com",
				TLS: "TLSv1.3:TLS_AES_256_GCM_SHA384:256", Auth: "alice"},
		},
		scheduled: true,
		sched:     toNanos(t0.Add(time.Hour)),
		keys:      []string{"maildrop/1700000000.4242.host", "bounce/6"},
	}
	minimal := &record{Message: Message{ID: 1, Recipients: []Recipient{{Addr: "a@x"}}}}
	return []*record{full, minimal}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, r := range sampleRecords() {
		b := encodeRecord(r)
		got, err := decodeRecord(r.ID, b)
		if err != nil {
			t.Fatal(err)
		}
		for i := range r.Recipients {
			if !got.Recipients[i].NextAttempt.Equal(r.Recipients[i].NextAttempt) ||
				!got.Recipients[i].LastAttempt.Equal(r.Recipients[i].LastAttempt) {
				t.Errorf("recipient %d times %+v, want %+v", i, got.Recipients[i], r.Recipients[i])
			}
			got.Recipients[i].NextAttempt, got.Recipients[i].LastAttempt = r.Recipients[i].NextAttempt, r.Recipients[i].LastAttempt
		}
		if !got.Born.Equal(r.Born) {
			t.Errorf("Born %v, want %v", got.Born, r.Born)
		}
		got.Born = r.Born
		if !reflect.DeepEqual(got, r) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
		}
	}
}

// TestCodecSMTPUTF8: the SMTPUTF8 flag survives a round trip, and a
// record written before the flag existed still reads, as SMTPUTF8 false.
func TestCodecSMTPUTF8(t *testing.T) {
	// A record of version 1 as written before flagSMTPUTF8: flags 0, the
	// empty fields, one recipient "a@x" pending.
	old := []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 'a', '@', 'x', 0, 0, 0, 0, 0}
	r, err := decodeRecord(1, old)
	if err != nil {
		t.Fatalf("old record: %v", err)
	}
	if r.SMTPUTF8 || len(r.Recipients) != 1 || r.Recipients[0].Addr != "a@x" {
		t.Fatalf("old record read as %+v", r.Message)
	}
	r.SMTPUTF8 = true
	r.Recipients[0].Addr = "üser@x"
	got, err := decodeRecord(1, encodeRecord(r))
	if err != nil {
		t.Fatal(err)
	}
	if !got.SMTPUTF8 || got.Recipients[0].Addr != "üser@x" {
		t.Fatalf("round trip %+v", got.Message)
	}
}

func TestCodecRejects(t *testing.T) {
	good := encodeRecord(sampleRecords()[0])
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{2}, good[1:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(append([]byte{}, good...), 0)},
		{"unknown flag", []byte{1, 0x04}},
		{"huge count", []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"no recipients", encodeRecord(&record{Message: Message{ID: 1}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := decodeRecord(9, tt.b); err == nil {
				t.Fatalf("decoded %+v", r)
			} else {
				wantErr(t, err, ErrCorrupt)
			}
		})
	}
}

// FuzzDecodeRecord: arbitrary bytes never panic the decoder, and whatever
// it accepts survives a re-encoding unchanged.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(encodeRecord(r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(1, b)
		if err != nil {
			return
		}
		again, err := decodeRecord(1, encodeRecord(r))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoding changed the record:\n%+v\n%+v", r, again)
		}
	})
}

// TestEnqueueSMTPUTF8: NewMessage.SMTPUTF8 is kept across a reopen.
func TestEnqueueSMTPUTF8(t *testing.T) {
	s := openTest(t, Options{})
	m := msg("üser@example.net")
	m.SMTPUTF8 = true
	with := enqueue(t, s, m, "Subject: x\n\nbody\n")
	without := enqueue(t, s, msg("r@example.net"), "Subject: x\n\nbody\n")
	s = reopen(t, s, Options{})
	for id, want := range map[ID]bool{with: true, without: false} {
		got, err := s.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if got.SMTPUTF8 != want {
			t.Errorf("message %d: SMTPUTF8 %v, want %v", id, got.SMTPUTF8, want)
		}
	}
}
