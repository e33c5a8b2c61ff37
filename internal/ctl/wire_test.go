package ctl

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/store"
)

func TestMessageWire(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	m := store.Message{
		ID:     7,
		Sender: "a@example.org",
		Recipients: []store.Recipient{
			{Addr: "b@example.net", State: store.Deferred, Attempts: 2, NextAttempt: at.Add(time.Hour), LastAttempt: at, LastResult: "no route", TLSPolicy: true},
			{Addr: "c@example.net", State: store.Delivered},
		},
		Born:     at,
		Size:     42,
		Held:     true,
		Intake:   store.Intake{Protocol: "esmtps", UID: -1, PID: 12, ClientAddr: "192.0.2.1", HELO: "client", TLS: "TLS1.3", Auth: "ann"},
		Warned:   true,
		EightBit: true,
	}
	if got := MessageOf(m).Store(); !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	b, err := json.Marshal(MessageOf(store.Message{ID: 1, Recipients: []store.Recipient{{Addr: "x"}}, Born: at}))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":1,"sender":"","recipients":[{"addr":"x","state":0,"attempts":0,"next_attempt":"0001-01-01T00:00:00Z","last_attempt":"0001-01-01T00:00:00Z","last_result":""}],"born":"2026-12-03T10:00:00Z","size":0,"held":false,"intake":{"protocol":"","uid":0,"pid":0},"warned":false,"eight_bit":false}`
	if string(b) != want {
		t.Errorf("wire form:\n got %s\nwant %s", b, want)
	}
}

func TestStatsAndEnvelopeWire(t *testing.T) {
	s := store.Stats{Messages: 3, Held: 1, Recipients: 4, Bytes: 500}
	if got := StatsOf(s).Store(); got != s {
		t.Errorf("stats round trip: got %+v, want %+v", got, s)
	}
	b, _ := json.Marshal(StatsOf(s))
	if want := `{"messages":3,"held":1,"recipients":4,"bytes":500}`; string(b) != want {
		t.Errorf("stats wire form %s, want %s", b, want)
	}
	env := envelope.Envelope{Sender: "a@b", Recipients: []string{"c@d"}}
	if got := EnvelopeOf(env).Envelope(); !reflect.DeepEqual(got, env) {
		t.Errorf("envelope round trip: got %+v, want %+v", got, env)
	}
	b, _ = json.Marshal(EnvelopeOf(env))
	if want := `{"sender":"a@b","recipients":["c@d"]}`; string(b) != want {
		t.Errorf("envelope wire form %s, want %s", b, want)
	}
}

func TestProblemWire(t *testing.T) {
	ps := []store.Problem{{ID: 9, Text: "record does not decode", Repaired: "removed"}, {Text: "meta page damaged"}}
	w := ProblemsOf(ps)
	for i, p := range w {
		if got := p.Store(); got != ps[i] {
			t.Errorf("problem %d round trip: got %+v, want %+v", i, got, ps[i])
		}
	}
	b, _ := json.Marshal(w)
	if want := `[{"id":9,"text":"record does not decode","repaired":"removed"},{"text":"meta page damaged"}]`; string(b) != want {
		t.Errorf("problems wire form %s, want %s", b, want)
	}
}
