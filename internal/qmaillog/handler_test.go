package qmaillog

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/qsend/qsend/store"
)

func TestEventLines(t *testing.T) {
	msg := store.Message{ID: 4711, Sender: "joe@example.com", Size: 1234,
		Intake: store.Intake{PID: 815, UID: 1001}}
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		want string
	}{
		{"new", func(l *slog.Logger) { LogNewMsg(l, 4711) }, "new msg 4711"},
		{"info", func(l *slog.Logger) { LogInfoMsg(l, msg) },
			"info msg 4711: bytes 1234 from <joe@example.com> qp 815 uid 1001"},
		{"info null sender", func(l *slog.Logger) {
			LogInfoMsg(l, store.Message{ID: 5, Size: 9, Intake: store.Intake{PID: 1, UID: 0}})
		},
			"info msg 5: bytes 9 from <> qp 1 uid 0"},
		{"info unsafe sender", func(l *slog.Logger) {
			LogInfoMsg(l, store.Message{ID: 5, Sender: "a b%c\n@x\x7f", Intake: store.Intake{PID: 1, UID: -1}})
		}, "info msg 5: bytes 0 from <a_b_c/@x_> qp 1 uid -1"},
		{"starting remote", func(l *slog.Logger) { LogStarting(l, 1, 4711, "remote", "bob@example.org") },
			"starting delivery 1: msg 4711 to remote bob@example.org"},
		{"starting local", func(l *slog.Logger) { LogStarting(l, 23, 9, "local", "alice-list@here") },
			"starting delivery 23: msg 9 to local alice-list@here"},
		{"status", func(l *slog.Logger) { LogStatus(l, 0, 10, 1, 20) }, "status: local 0/10 remote 1/20"},
		{"success", func(l *slog.Logger) {
			LogDelivery(l, 1, store.Delivered, "127.0.0.1 accepted message.\nRemote host said: 250 ok\n")
		}, "delivery 1: success: 127.0.0.1_accepted_message./Remote_host_said:_250_ok/"},
		{"deferral", func(l *slog.Logger) {
			LogDelivery(l, 2, store.Deferred, "Connected to 1.2.3.4 but connection died. (#4.4.2)\n")
		}, "delivery 2: deferral: Connected_to_1.2.3.4_but_connection_died._(#4.4.2)/"},
		{"deferral pending state", func(l *slog.Logger) { LogDelivery(l, 2, store.Pending, "x") }, "delivery 2: deferral: x"},
		{"failure", func(l *slog.Logger) {
			LogDelivery(l, 3, store.Failed, "Sorry, no mailbox here by that name. (#5.1.1)\n")
		}, "delivery 3: failure: Sorry,_no_mailbox_here_by_that_name._(#5.1.1)/"},
		{"failure percent and tab", func(l *slog.Logger) { LogDelivery(l, 3, store.Failed, "100%\tdone") },
			"delivery 3: failure: 100__done"},
		{"bounce", func(l *slog.Logger) { LogBounce(l, 4711, 815) }, "bounce msg 4711 qp 815"},
		{"end", func(l *slog.Logger) { LogEnd(l, 4711) }, "end msg 4711"},
		{"triple", func(l *slog.Logger) { LogTripleBounce(l, 4711) }, "triple bounce: discarding bounce/4711"},
		{"double discard", func(l *slog.Logger) { LogDoubleBounceDiscard(l, 4711) }, "double bounce: discarding bounce/4711"},
		{"event shapes ignore logger attrs", func(l *slog.Logger) { LogEnd(l.With("component", "delivery").WithGroup("g"), 7) },
			"end msg 7"},
		{"warning", func(l *slog.Logger) { l.Warn("unable to stat", "file", "bounce/12") }, "warning: unable to stat file=bounce/12"},
		{"alert", func(l *slog.Logger) { l.Error("cannot start: unable to read controls") },
			"alert: cannot start: unable to read controls"},
		{"alert keeps its own prefix", func(l *slog.Logger) { l.Error("alert: already said") }, "alert: already said"},
		{"info", func(l *slog.Logger) { l.Info("status: exiting") }, "status: exiting"},
		{"quoting", func(l *slog.Logger) {
			l.Info("reload", "key", "a b", "empty", "", "eq", "x=y", "n", 3, "err", errors.New("disk full"))
		}, `reload key="a b" empty="" eq="x=y" n=3 err="disk full"`},
		{"multi-line message and value", func(l *slog.Logger) { l.Info("two\nlines", "v", "a\nb") },
			`two/lines v="a\nb"`},
		{"groups and with", func(l *slog.Logger) {
			l.With("a", 1).WithGroup("g").With("b", 2).Info("m", "c", 3, slog.Group("h", "d", 4), slog.Group("", "e", 5))
		}, "m a=1 g.b=2 g.c=3 g.h.d=4 g.e=5"},
		{"not an event: unknown result", func(l *slog.Logger) {
			l.Info("delivery", "delivery", 1, "result", "maybe", "text", "x")
		}, "delivery delivery=1 result=maybe text=x"},
		{"not an event: missing attr", func(l *slog.Logger) { l.Info("end msg") }, "end msg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.log(slog.New(NewHandler(&buf, slog.LevelInfo)))
			if got := buf.String(); got != tc.want+"\n" {
				t.Errorf("got  %q\nwant %q", got, tc.want+"\n")
			}
		})
	}
}

func TestLevel(t *testing.T) {
	var buf bytes.Buffer
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelWarn)
	l := slog.New(NewHandler(&buf, lv))
	l.Info("hidden")
	LogEnd(l, 1)
	l.Warn("shown")
	l.Debug("hidden too")
	lv.Set(slog.LevelDebug)
	l.Debug("debug now")
	if got, want := buf.String(), "warning: shown\ndebug now\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !slog.New(NewHandler(&buf, nil)).Enabled(t.Context(), slog.LevelInfo) {
		t.Error("nil level should mean Info")
	}
}

// TestJSONRecords checks the helpers make useful records for the other
// handlers too.
func TestJSONRecords(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, nil))
	LogStarting(l, 3, 42, "remote", "bob@example.org")
	LogDelivery(l, 3, store.Failed, "no such user")
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, m)
	}
	if recs[0]["msg"] != "starting delivery" || recs[0]["id"] != 42.0 || recs[0]["to"] != "bob@example.org" || recs[0]["delivery"] != 3.0 {
		t.Errorf("starting record: %v", recs[0])
	}
	if recs[1]["msg"] != "delivery" || recs[1]["result"] != "failure" || recs[1]["text"] != "no such user" {
		t.Errorf("delivery record: %v", recs[1])
	}
}

func TestSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a@b.c", "a@b.c"},
		{"x y\nz%\x00\xc3\xa9~!", "x_y/z____~!"},
	}
	for _, tc := range tests {
		if got := Safe(tc.in); got != tc.want {
			t.Errorf("Safe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestConcurrentLines(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewHandler(&buf, nil))
	done := make(chan struct{})
	for i := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 100 {
				LogEnd(l.With("w", i), 1)
			}
		}()
	}
	for range 4 {
		<-done
	}
	if got := strings.Count(buf.String(), "end msg 1\n"); got != 400 {
		t.Errorf("%d whole lines, want 400", got)
	}
}
