package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/qsend/qsend/store"
)

// dyingDaemon answers Apply's requests on a socket, carrying out the ids
// of the first answered requests and failing the id 7, then drops the
// connection of the next request without an answer, as a daemon killed
// in the middle of a command does.
type dyingDaemon struct {
	mu       sync.Mutex
	answered int
	done     []store.ID
}

func (d *dyingDaemon) serve(t *testing.T, answered int) string {
	path := filepath.Join(t.TempDir(), SocketName)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(c)
			typ, payload, err := ReadFrame(r, nil)
			var req Request
			if err != nil || typ != FrameRequest || json.Unmarshal(payload, &req) != nil {
				c.Close()
				continue
			}
			d.mu.Lock()
			if d.answered == answered {
				d.mu.Unlock()
				c.Close()
				continue
			}
			d.answered++
			resp := Response{OK: true}
			for _, id := range req.IDs {
				if id == 7 {
					resp.Failed = append(resp.Failed, IDError{ID: id, Error: "message not found"})
					continue
				}
				d.done = append(d.done, id)
			}
			d.mu.Unlock()
			WriteJSON(c, FrameResponse, resp)
			c.Close()
		}
	})
	return path
}

func someIDs(n int) []store.ID {
	ids := make([]store.ID, n)
	for i := range ids {
		ids[i] = store.ID(i + 1)
	}
	return ids
}

// A command interrupted after two batches says how many ids were done;
// what the answered batches did stays done, and their failures are
// returned.
func TestApplyInterrupted(t *testing.T) {
	d := &dyingDaemon{}
	c := NewClient(d.serve(t, 2))
	ids := someIDs(5*ApplyBatch + 3)
	failed, err := c.Apply(context.Background(), OpDelete, ids)
	var ie *InterruptedError
	if !errors.As(err, &ie) || ie.Done != 2*ApplyBatch || ie.InDoubt != ApplyBatch || ie.Total != len(ids) {
		t.Fatalf("err = %v, want an *InterruptedError after %d ids", err, 2*ApplyBatch)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v does not carry the cause", err)
	}
	want := "delete interrupted after 200 of 503 ids; the next 100 may have been done in part: reading the daemon's answer: unexpected EOF"
	if err.Error() != want {
		t.Errorf("text %q, want %q", err.Error(), want)
	}
	if len(failed) != 1 || failed[0].ID != 7 {
		t.Errorf("failed = %+v, want id 7", failed)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.done) != 2*ApplyBatch-1 {
		t.Errorf("the daemon did %d ids, want %d", len(d.done), 2*ApplyBatch-1)
	}
}

// Without a break every batch is sent; a refusal of the first batch is
// the daemon's own error, not an interruption.
func TestApplyBatches(t *testing.T) {
	d := &dyingDaemon{}
	c := NewClient(d.serve(t, 100))
	ids := someIDs(2*ApplyBatch + 1)
	failed, err := c.Apply(context.Background(), OpHold, ids)
	d.mu.Lock()
	if err != nil || len(failed) != 1 || len(d.done) != len(ids)-1 || d.answered != 3 {
		t.Fatalf("Apply: %v, failed %+v, %d done in %d requests", err, failed, len(d.done), d.answered)
	}
	d.mu.Unlock()
	_, err = NewClient((&dyingDaemon{}).serve(t, 0)).Apply(context.Background(), OpHold, ids)
	var ie *InterruptedError
	if !errors.As(err, &ie) || ie.Done != 0 || !strings.Contains(err.Error(), "after 0 of 201 ids") {
		t.Errorf("a break on the first batch: %v", err)
	}
	_, err = NewClient(filepath.Join(t.TempDir(), "none.sock")).Apply(context.Background(), OpHold, ids)
	if !errors.Is(err, ErrNoDaemon) || errors.As(err, &ie) {
		t.Errorf("no daemon: %v, want ErrNoDaemon alone", err)
	}
}
