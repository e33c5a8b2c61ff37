package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maildirMessages returns the messages in a Maildir's new/.
func maildirMessages(t *testing.T, dir string) []string {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(dir, "new"))
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("%s/tmp holds %d files", dir, len(tmp))
	}
	return out
}

// TestLocalDelivery: mail for locals and virtualdomains goes into Maildirs
// as qmail-local writes them, and a double bounce (a bounce that bounced)
// reaches the local postmaster (qmail-send.c addbounce(), injectbounce()).
func TestLocalDelivery(t *testing.T) {
	w := newRemoteWorld(t) // nowhere.example has no DNS: NXDOMAIN, a permanent failure
	s := newSite(t)
	s.writeControl("virtualdomains", "lists.example.org:lists\n")
	s.writeConfig(w.config("concurrencylocal: 10\n"))
	s.startDaemon()
	if code, errOut := s.queue("Subject: hello\n\nbody\n", envelope("sender@example.net", "joe@test.example", "Ann@lists.example.org")); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// A message from the null sender that fails: its bounce cannot go
	// back, so qmail sends a double bounce to postmaster@me.
	if code, errOut := s.queue("Subject: undeliverable\n\nbody\n", envelope("", "x@nowhere.example")); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	waitFor(t, "the queue to empty", func() bool { return len(s.listJSON()) == 0 })

	joe := maildirMessages(t, filepath.Join(s.dir, "mail/joe/Maildir"))
	if len(joe) != 1 || !strings.HasPrefix(joe[0], "Return-Path: <sender@example.net>\nDelivered-To: joe@test.example\nReceived: (qmail ") ||
		!strings.HasSuffix(joe[0], "Subject: hello\n\nbody\n") {
		t.Fatalf("joe's Maildir: %q", joe)
	}
	// virtualdomains: lists.example.org:lists makes the local address
	// lists-Ann@lists.example.org, user "lists".
	lists := maildirMessages(t, filepath.Join(s.dir, "mail/lists/Maildir"))
	if len(lists) != 1 || !strings.Contains(lists[0], "\nDelivered-To: lists-Ann@lists.example.org\n") {
		t.Fatalf("lists' Maildir: %q", lists)
	}
	pm := maildirMessages(t, filepath.Join(s.dir, "mail/postmaster/Maildir"))
	if len(pm) != 1 || !strings.HasPrefix(pm[0], "Return-Path: <#@[]>\nDelivered-To: postmaster@test.example\n") ||
		!strings.Contains(pm[0], "I tried to deliver a bounce message to this address, but the bounce bounced!") ||
		!strings.Contains(pm[0], "Sorry, I couldn't find any host named nowhere.example. (#5.1.2)") {
		t.Fatalf("postmaster's Maildir: %q", pm)
	}
}
