package certfile

import (
	"io/fs"
	"syscall"
)

// fileID tells whether a file changed since it was last read: a new
// modification time, size or inode (an editor's or installer's rename).
type fileID struct {
	mtime    int64
	size     int64
	dev, ino uint64
}

// idOf returns the identity of a stat result.
func idOf(fi fs.FileInfo) fileID {
	id := fileID{mtime: fi.ModTime().UnixNano(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), uint64(st.Ino) // widths differ by platform
	}
	return id
}
