package remote

import (
	"errors"
	"io"
)

// rewinder reads a message body from the store and rewinds by opening it
// again, so the SMTP client can send it in more than one transaction (a
// 452 carry-over) without the body being held in memory.
type rewinder struct {
	open func() (io.ReadCloser, error)
	r    io.ReadCloser
}

func (w *rewinder) Read(p []byte) (int, error) {
	if w.r == nil {
		r, err := w.open()
		if err != nil {
			return 0, err
		}
		w.r = r
	}
	return w.r.Read(p)
}

// Seek supports only a rewind to the start.
func (w *rewinder) Seek(offset int64, whence int) (int64, error) {
	if offset != 0 || whence != io.SeekStart {
		return 0, errors.New("message body: only a rewind to the start is possible")
	}
	w.Close()
	return 0, nil
}

// Close closes the body opened last, if any.
func (w *rewinder) Close() error {
	if w.r == nil {
		return nil
	}
	err := w.r.Close()
	w.r = nil
	return err
}
