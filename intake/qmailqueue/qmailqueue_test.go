package qmailqueue

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// queueWith makes a split-3 queue holding one message num with the given
// files (relative names as in the queue: "info", "local", "remote",
// "todo", "intd", "bounce").
func queueWith(t *testing.T, num uint64, files map[string]string) *Queue {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"mess", "info", "local", "remote"} {
		for s := 0; s < 3; s++ {
			if err := os.MkdirAll(filepath.Join(dir, d, strconv.Itoa(s)), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, d := range []string{"todo", "intd", "bounce"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	q, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	files["mess"] = "Subject: x\n\nbody\n"
	for name, content := range files {
		split := name != "todo" && name != "intd" && name != "bounce"
		if err := os.WriteFile(q.path(name, num, split), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return q
}

func TestRead(t *testing.T) {
	born := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		files   map[string]string
		want    Message
		damaged bool // else skipped as incomplete, when wantErr
		wantErr bool
	}{
		{"preprocessed, partly done", map[string]string{
			"info":   "Fa@example.org\x00",
			"local":  "Dl1@test.example\x00Tl2@test.example\x00",
			"remote": "Tr1@example.net\x00Dr2@example.net\x00",
			"bounce": "<l3@test.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n<r3@example.net>:\nRemote host said: 550 no\n/\nreally\n\n",
		}, Message{Sender: "a@example.org", Local: []string{"l2@test.example"}, Remote: []string{"r1@example.net"},
			Bounced: []Failure{{"l3@test.example", "Sorry, no mailbox here by that name. (#5.1.1)"}, {"r3@example.net", "Remote host said: 550 no\n\nreally"}},
			Born:    born, UID: -1, PID: -1}, false, false},
		{"todo wins over info", map[string]string{
			"info": "Fold@example.org\x00",
			"todo": "u1000\x00p42\x00F\x00Tx@example.net\x00Ty@example.net\x00",
		}, Message{Sender: "", Remote: []string{"x@example.net", "y@example.net"}, Todo: true, Born: born, UID: 1000, PID: 42}, false, false},
		{"intd only", map[string]string{"intd": "u1\x00p2\x00Fa@b\x00"}, Message{}, false, true},
		{"no envelope at all", map[string]string{}, Message{}, false, true},
		{"info truncated", map[string]string{"info": "Fa@example.org"}, Message{}, true, true},
		{"info without F", map[string]string{"info": "Xa@example.org\x00"}, Message{}, true, true},
		{"channel with a bad record", map[string]string{"info": "Fa@b\x00", "remote": "Qx@y\x00"}, Message{}, true, true},
		{"todo with an unknown record", map[string]string{"todo": "u1\x00p2\x00Fa@b\x00Zx\x00"}, Message{}, true, true},
		{"todo recipient before sender", map[string]string{"todo": "Tx@y\x00Fa@b\x00"}, Message{}, true, true},
		{"bounce without its empty line", map[string]string{"info": "Fa@b\x00", "bounce": "<x@y>:\nno\n"}, Message{}, true, true},
		{"bounce without an address", map[string]string{"info": "Fa@b\x00", "bounce": "x@y:\nno\n\n"}, Message{}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const num = 4711
			q := queueWith(t, num, tt.files)
			for _, f := range []string{q.path("info", num, true), q.path("todo", num, false)} {
				os.Chtimes(f, born, born)
			}
			m, err := q.Read(num)
			var sk *Skipped
			if tt.wantErr {
				if !errors.As(err, &sk) || sk.Damaged != tt.damaged || sk.Path == "" {
					t.Fatalf("Read = %v; want a Skipped (damaged %v)", err, tt.damaged)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Num, tt.want.Mess = num, q.path("mess", num, true)
			if m.Sender != tt.want.Sender || !slices.Equal(m.Local, tt.want.Local) || !slices.Equal(m.Remote, tt.want.Remote) ||
				!slices.Equal(m.Bounced, tt.want.Bounced) || m.Todo != tt.want.Todo || !m.Born.Equal(tt.want.Born) ||
				m.UID != tt.want.UID || m.PID != tt.want.PID || m.Mess != tt.want.Mess {
				t.Errorf("Read =\n%+v\nwant\n%+v", m, tt.want)
			}
		})
	}
}

func TestNumsAndSplit(t *testing.T) {
	q := queueWith(t, 7, map[string]string{"info": "Fa@b\x00"})
	if q.split != 3 {
		t.Fatalf("split = %d, want 3", q.split)
	}
	nums, err := q.Nums()
	if err != nil || !slices.Equal(nums, []uint64{7}) {
		t.Fatalf("Nums = %v, %v", nums, err)
	}
	if locked, err := q.SendLocked(); locked || err != nil {
		t.Fatalf("SendLocked without lock/sendmutex = %v, %v", locked, err)
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Fatal("Open of an empty folder succeeded")
	}
}
