package daemon

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/qsend/qsend/internal/ctl"
)

// ErrRunning marks a start refused because another daemon serves the same
// state_dir.
var ErrRunning = errors.New("another qsend daemon serves this state_dir")

// lockStateDir takes the daemon's lock on state_dir without waiting: an
// exclusive flock on daemon.pid, which then holds this process's pid, as
// qmail-send takes lock/sendmutex with lock_exnb (qmail-send.c main). A
// second daemon fails at once with ErrRunning, naming the holder's pid. The
// lock lasts until the returned file is closed or the process ends.
func lockStateDir(l ctl.Layout) (*os.File, error) {
	f, err := os.OpenFile(l.PIDFile, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("state_dir: locking %s: %w", l.PIDFile, err)
		}
		holder := "unknown"
		if b, err := os.ReadFile(l.PIDFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				holder = strconv.Itoa(pid)
			}
		}
		return nil, fmt.Errorf("%w: pid %s holds %s; stop it first, or give this one another state_dir", ErrRunning, holder, l.PIDFile)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err == nil {
		return f, nil
	}
	f.Close()
	return nil, fmt.Errorf("state_dir: writing %s: %w", l.PIDFile, err)
}
