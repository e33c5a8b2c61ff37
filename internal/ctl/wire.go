package ctl

import (
	"time"

	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/store"
)

// The socket carries the queue's records in these wire forms, so the JSON
// the protocol speaks is defined here and the store's own types stay free
// of it. The conversions below are the only ones: the daemon converts
// with them when it answers, the Client when it reads an answer. Each
// wire struct has the fields of its store type, in order, so that a field
// added to the store without its wire form fails to compile here.

// Envelope is the wire form of a submission's envelope.
type Envelope struct {
	Sender     string   `json:"sender"`
	Recipients []string `json:"recipients"`
}

// EnvelopeOf returns the wire form of env.
func EnvelopeOf(env envelope.Envelope) Envelope {
	return Envelope{Sender: env.Sender, Recipients: env.Recipients}
}

// Envelope returns the envelope e carries.
func (e Envelope) Envelope() envelope.Envelope {
	return envelope.Envelope{Sender: e.Sender, Recipients: e.Recipients}
}

// Recipient is the wire form of a store.Recipient.
type Recipient struct {
	Addr        string          `json:"addr"`
	State       store.RcptState `json:"state"`
	Attempts    int             `json:"attempts"`
	NextAttempt time.Time       `json:"next_attempt"`
	LastAttempt time.Time       `json:"last_attempt"`
	LastResult  string          `json:"last_result"`
	TLSPolicy   bool            `json:"tls_policy,omitempty"`
}

// Intake is the wire form of a store.Intake.
type Intake struct {
	Protocol   string `json:"protocol"`
	UID        int    `json:"uid"`
	PID        int    `json:"pid"`
	ClientAddr string `json:"client_addr,omitempty"`
	HELO       string `json:"helo,omitempty"`
	TLS        string `json:"tls,omitempty"`
	Auth       string `json:"auth,omitempty"`
}

// Message is the wire form of a store.Message: a record of OpList, and
// the message of OpShow.
type Message struct {
	ID         store.ID    `json:"id"`
	Sender     string      `json:"sender"`
	Recipients []Recipient `json:"recipients"`
	Born       time.Time   `json:"born"`
	Size       int64       `json:"size"`
	Held       bool        `json:"held"`
	Intake     Intake      `json:"intake"`
	Warned     bool        `json:"warned"`
	EightBit   bool        `json:"eight_bit"`
}

// MessageOf returns the wire form of m.
func MessageOf(m store.Message) Message {
	w := Message{
		ID:       m.ID,
		Sender:   m.Sender,
		Born:     m.Born,
		Size:     m.Size,
		Held:     m.Held,
		Intake:   Intake(m.Intake),
		Warned:   m.Warned,
		EightBit: m.EightBit,
	}
	if m.Recipients != nil {
		w.Recipients = make([]Recipient, len(m.Recipients))
		for i, r := range m.Recipients {
			w.Recipients[i] = Recipient(r)
		}
	}
	return w
}

// Store returns the store.Message that w carries.
func (w Message) Store() store.Message {
	m := store.Message{
		ID:       w.ID,
		Sender:   w.Sender,
		Born:     w.Born,
		Size:     w.Size,
		Held:     w.Held,
		Intake:   store.Intake(w.Intake),
		Warned:   w.Warned,
		EightBit: w.EightBit,
	}
	if w.Recipients != nil {
		m.Recipients = make([]store.Recipient, len(w.Recipients))
		for i, r := range w.Recipients {
			m.Recipients[i] = store.Recipient(r)
		}
	}
	return m
}

// Stats is the wire form of store.Stats.
type Stats struct {
	Messages   int   `json:"messages"`
	Held       int   `json:"held"`
	Recipients int   `json:"recipients"`
	Bytes      int64 `json:"bytes"`
}

// StatsOf returns the wire form of s.
func StatsOf(s store.Stats) Stats { return Stats(s) }

// Store returns the store.Stats that w carries.
func (w Stats) Store() store.Stats { return store.Stats(w) }

// Problem is the wire form of a store.Problem: one finding of OpCheck.
type Problem struct {
	ID       store.ID `json:"id,omitempty"`
	Text     string   `json:"text"`
	Repaired string   `json:"repaired,omitempty"`
}

// ProblemsOf returns the wire form of ps.
func ProblemsOf(ps []store.Problem) []Problem {
	out := make([]Problem, len(ps))
	for i, p := range ps {
		out[i] = Problem(p)
	}
	return out
}

// Store returns the store.Problem that w carries.
func (w Problem) Store() store.Problem { return store.Problem(w) }
