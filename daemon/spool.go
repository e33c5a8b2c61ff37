package daemon

import (
	"bytes"
	"io"
	"os"
)

// spool holds a submitted message until its envelope arrives: in memory up
// to a limit, beyond it in an unlinked scratch file, so a 50 MB message
// costs one buffer, not 50 MB of memory.
type spool struct {
	mem  bytes.Buffer
	file *os.File
	size int64
}

// spoolMemMax is how much of a message stays in memory.
const spoolMemMax = 256 << 10

// fill reads r to its end into the spool, spilling to a file in dir.
func (s *spool) fill(r io.Reader, dir string) error {
	n, err := io.CopyN(&s.mem, r, spoolMemMax+1)
	s.size = n
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "spool-")
	if err != nil {
		return err
	}
	os.Remove(f.Name()) // nothing to clean up after a crash
	s.file = f
	if _, err := f.Write(s.mem.Bytes()); err != nil {
		return err
	}
	s.mem = bytes.Buffer{}
	m, err := io.Copy(f, r)
	s.size += m
	return err
}

// reader returns the spooled message.
func (s *spool) reader() io.Reader {
	if s.file != nil {
		return io.NewSectionReader(s.file, 0, s.size)
	}
	return bytes.NewReader(s.mem.Bytes())
}

func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
	}
}
