package certrelay

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"time"
)

// recheckInterval is how often a file is stat'ed for changes at most.
const recheckInterval = time.Second

// maxFileSize bounds what is read of one file; CA bundles are far smaller.
const maxFileSize = 16 << 20

// watched is one file, stat'ed at most once per recheckInterval.
type watched struct {
	path    string
	checked time.Time
	primed  bool
	info    os.FileInfo // nil when absent or unreadable
	failed  string      // the last read error, so it is reported once
}

// refresh stats the file if it is time and reports whether it changed:
// appeared, disappeared or was modified. data is its new contents when
// it exists; err reports a failure to read an existing file.
func (w *watched) refresh(now time.Time) (changed bool, data []byte, err error) {
	if w.primed && now.Sub(w.checked) < recheckInterval && !now.Before(w.checked) {
		return false, nil, nil
	}
	first := !w.primed
	w.primed, w.checked = true, now
	fi, err := os.Stat(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		changed := first || w.info != nil || w.failed != ""
		w.info, w.failed = nil, ""
		return changed, nil, nil
	}
	if err == nil && w.info != nil && os.SameFile(w.info, fi) && w.info.ModTime().Equal(fi.ModTime()) && w.info.Size() == fi.Size() {
		return false, nil, nil
	}
	if err == nil {
		data, err = readLimited(w.path)
	}
	if err != nil {
		w.info = nil
		if err.Error() == w.failed {
			return false, nil, nil
		}
		w.failed = err.Error()
		return true, nil, err
	}
	w.info, w.failed = fi, ""
	return true, data, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, errors.New("file too large")
	}
	return data, nil
}
