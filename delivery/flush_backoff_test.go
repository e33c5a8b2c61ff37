package delivery

import (
	"slices"
	"sync"
	"testing"
)

// resettingTransport is a scriptTransport that records ResetBackoff calls.
type resettingTransport struct {
	scriptTransport
	rmu    sync.Mutex
	resets [][]string
}

func (tr *resettingTransport) ResetBackoff(addrs []string) {
	tr.rmu.Lock()
	defer tr.rmu.Unlock()
	tr.resets = append(tr.resets, addrs)
}

// A flush resets the backoff of the destinations of the mail it makes
// due: the named messages' remote recipients not yet final, or every
// destination for a flush of everything (qmail-tcpok, then SIGALRM).
func TestFlushResetsBackoff(t *testing.T) {
	tr := &resettingTransport{}
	e := newEnv(t, func(o *Options) {
		o.Remote = tr
		o.Local = &scriptTransport{}
		o.Route = func(addr string) Channel {
			if addr == "me@local.example" {
				return Local
			}
			return Remote
		}
	})
	m := e.enqueue("joe@example.com", "a@x.example", "me@local.example", "b@y.example")
	if err := e.s.Flush(m.ID); err != nil {
		t.Fatal(err)
	}
	e.s.FlushAll()
	tr.rmu.Lock()
	defer tr.rmu.Unlock()
	if len(tr.resets) != 2 || !slices.Equal(tr.resets[0], []string{"a@x.example", "b@y.example"}) || tr.resets[1] != nil {
		t.Fatalf("resets = %q, want the message's remote recipients, then every destination (nil)", tr.resets)
	}
}
