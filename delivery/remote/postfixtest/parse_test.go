package postfixtest

import (
	"testing"
)

func TestEnvelope(t *testing.T) {
	tests := []struct {
		name, msg    string
		sender, rcpt string
		ok           bool
	}{
		{"virtual delivery", "Return-Path: <a@b.example>\nX-Original-To: Someone@pf.test\nDelivered-To: someone@pf.test\n\nbody\n",
			"a@b.example", "Someone@pf.test", true},
		{"null sender", "Return-Path: <>\nX-Original-To: u@pf.test\n\n", "", "u@pf.test", true},
		{"Delivered-To only", "Return-Path: <a@b>\nDelivered-To: d@pf.test\n\n", "a@b", "d@pf.test", true},
		{"no recipient", "Subject: x\n\nbody", "", "", false},
		{"empty", "", "", "", false},
		{"not a header", "\x00\x01garbage", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, r, ok := Envelope([]byte(tt.msg))
			if s != tt.sender || r != tt.rcpt || ok != tt.ok {
				t.Errorf("Envelope = %q, %q, %v; want %q, %q, %v", s, r, ok, tt.sender, tt.rcpt, tt.ok)
			}
		})
	}
}

func FuzzEnvelope(f *testing.F) {
	f.Add([]byte("Return-Path: <a@b.example>\nX-Original-To: x@pf.test\n\nbody\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, r, ok := Envelope(msg)
		if ok != (r != "") {
			t.Errorf("ok %v with recipient %q", ok, r)
		}
	})
}

func TestProcState(t *testing.T) {
	tests := []struct {
		stat  string
		state string
		pgrp  int
		ok    bool
	}{
		{"123 (smtpd) S 100 100 100 0 -1 4194560 ...", "S", 100, true},
		{"124 (a) b) (c) Z 100 77 77 0", "Z", 77, true},
		{"125 (x) R", "", 0, false},
		{"126 no parenthesis", "", 0, false},
		{"127 (x) R 1 notanumber 1", "", 0, false},
	}
	for _, tt := range tests {
		state, pgrp, ok := procState(tt.stat)
		if ok != tt.ok || (ok && (state != tt.state || pgrp != tt.pgrp)) {
			t.Errorf("procState(%q) = %q, %d, %v; want %q, %d, %v", tt.stat, state, pgrp, ok, tt.state, tt.pgrp, tt.ok)
		}
	}
}

func FuzzProcState(f *testing.F) {
	f.Add("1 (init) S 0 1 1 0 -1 4194560")
	f.Fuzz(func(t *testing.T, stat string) {
		state, _, ok := procState(stat)
		if ok && state == "" {
			t.Errorf("procState(%q): ok without a state", stat)
		}
	})
}
