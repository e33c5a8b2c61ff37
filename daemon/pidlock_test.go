package daemon

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/qsend/qsend/internal/ctl"
)

func TestLockStateDir(t *testing.T) {
	l := ctl.LayoutOf(t.TempDir())
	first, err := lockStateDir(l)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(l.PIDFile)
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("%s = %q, %v; want this pid", l.PIDFile, b, err)
	}
	// flock locks belong to the open file: a second open conflicts, as
	// in another process.
	_, err = lockStateDir(l)
	if !errors.Is(err, ErrRunning) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second lock: %v; want ErrRunning naming pid %d", err, os.Getpid())
	}
	first.Close()
	again, err := lockStateDir(l)
	if err != nil {
		t.Fatalf("after the holder closed it: %v", err)
	}
	again.Close()
}
