package main

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/qsend/qsend/store"
)

// queueIDs returns the ids of the messages in the queue file at path.
func queueIDs(t *testing.T, path string) []store.ID {
	t.Helper()
	st, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []store.ID
	if err := st.WalkAll(func(m store.Message) error { ids = append(ids, m.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestQueueCommandInterrupted kills the daemon with SIGKILL in the middle
// of `queue hold` of many ids: the command says how many ids were done
// before the connection broke, those are held in the queue file, and
// none beyond the batch in doubt is.
func TestQueueCommandInterrupted(t *testing.T) {
	const n = 3000
	s, db := filledSite(t, n)
	ids := queueIDs(t, db)
	d := s.startDaemon()
	args := []string{"queue", "hold"}
	for _, id := range ids {
		args = append(args, id.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, qsendBin, args...)
	cmd.Env = s.env
	cmd.SysProcAttr = s.procAttr()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 300 * time.Millisecond
	time.Sleep(killAfter)
	d.stop(syscall.SIGKILL)
	err := cmd.Wait()
	t.Logf("daemon killed %v into the command; command: %v, stderr: %s", killAfter, err, errb.String())
	m := regexp.MustCompile(`hold interrupted after (\d+) of 3000 ids; the next (\d+) may have been done in part`).FindStringSubmatch(errb.String())
	if m == nil {
		t.Fatalf("stderr %q does not say how many ids were done", errb.String())
	}
	done, _ := strconv.Atoi(m[1])
	inDoubt, _ := strconv.Atoi(m[2])
	st, serr := store.Open(db, store.Options{ReadOnly: true})
	if serr != nil {
		t.Fatal(serr)
	}
	defer st.Close()
	held := 0
	for i, id := range ids {
		msg, err := st.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if i < done && !msg.Held {
			t.Errorf("message %v (%d of the %d done) is not held", id, i+1, done)
		}
		if msg.Held {
			held++
		}
	}
	t.Logf("%d ids reported done, %d held", done, held)
	if held > done+inDoubt {
		t.Errorf("%d messages held, more than the %d done and the %d in doubt", held, done, inDoubt)
	}
}
