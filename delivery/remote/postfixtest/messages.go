package postfixtest

import (
	"bufio"
	"bytes"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Messages returns the messages the instance delivered for its domain, any
// local part, oldest first, each as the raw bytes of the Maildir file:
// the message as received, after the Return-Path, X-Original-To,
// Delivered-To and Received headers Postfix adds (see Envelope).
func (p *Postfix) Messages() [][]byte {
	// The virtual delivery agent writes into tmp and renames into new
	// (Maildir), so every file in new is complete.
	dir := filepath.Join(p.root, "mail", "inbox", "new")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type file struct {
		name string
		mod  time.Time
	}
	var files []file
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		files = append(files, file{e.Name(), info.ModTime()})
	}
	slices.SortFunc(files, func(a, b file) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	var msgs [][]byte
	for _, f := range files {
		if b, err := os.ReadFile(filepath.Join(dir, f.name)); err == nil {
			msgs = append(msgs, b)
		}
	}
	return msgs
}

// WaitMessages waits until the instance has delivered at least n messages
// and returns them all; after timeout it returns what was delivered, which
// may be fewer than n (so a test can also check that nothing arrives).
func (p *Postfix) WaitMessages(n int, timeout time.Duration) [][]byte {
	deadline := time.Now().Add(timeout)
	for {
		msgs := p.Messages()
		if len(msgs) >= n || time.Now().After(deadline) {
			return msgs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Envelope returns the envelope sender and recipient of a delivered
// message from the headers Postfix's delivery agent prepends: Return-Path
// (the MAIL FROM address, empty for the null sender) and X-Original-To (the
// RCPT TO address before any rewriting), falling back to Delivered-To.
// ok is false when msg has no such recipient header.
func Envelope(msg []byte) (sender, recipient string, ok bool) {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(msg)))
	h, err := r.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return "", "", false
	}
	sender = strings.TrimSpace(h.Get("Return-Path"))
	sender = strings.TrimSuffix(strings.TrimPrefix(sender, "<"), ">")
	recipient = strings.TrimSpace(h.Get("X-Original-To"))
	if recipient == "" {
		recipient = strings.TrimSpace(h.Get("Delivered-To"))
	}
	return sender, recipient, recipient != ""
}
