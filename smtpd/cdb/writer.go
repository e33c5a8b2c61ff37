package cdb

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write writes a cdb holding records, each a key and its data, in order.
// Several records may share a key; Get returns the first. The whole file
// is planned in memory first, because the header at its start points at
// hash tables that follow the records, so w needs no Seek.
func Write(w io.Writer, records [][2][]byte) error {
	// Positions: the header, then each record, then the tables.
	pos := uint64(headerSize)
	type slot struct{ h, pos uint32 }
	var tables [256][]slot
	for i, r := range records {
		if uint64(len(r[0])) > maxSize || uint64(len(r[1])) > maxSize {
			return fmt.Errorf("cdb: record %d is larger than 4 GiB", i)
		}
		h := hash(r[0])
		tables[h&0xff] = append(tables[h&0xff], slot{h, uint32(pos)})
		pos += 8 + uint64(len(r[0])) + uint64(len(r[1]))
		if pos > maxSize {
			return fmt.Errorf("cdb: records up to %d do not fit in 4 GiB", i)
		}
	}
	var header [headerSize]byte
	var slots [256][]slot
	for t, entries := range tables {
		// Each table has twice as many slots as entries, so a probe always
		// reaches an empty slot (cdb.txt).
		n := uint32(len(entries) * 2)
		binary.LittleEndian.PutUint32(header[t*8:], uint32(pos))
		binary.LittleEndian.PutUint32(header[t*8+4:], n)
		pos += uint64(n) * 8
		if pos > maxSize {
			return fmt.Errorf("cdb: %d records do not fit in 4 GiB with their hash tables", len(records))
		}
		if n == 0 {
			continue
		}
		s := make([]slot, n)
		for _, e := range entries {
			i := (e.h >> 8) % n
			for s[i].pos != 0 {
				i = (i + 1) % n
			}
			s[i] = e
		}
		slots[t] = s
	}

	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(header[:])
	var buf [8]byte
	for _, r := range records {
		binary.LittleEndian.PutUint32(buf[:], uint32(len(r[0])))
		binary.LittleEndian.PutUint32(buf[4:], uint32(len(r[1])))
		bw.Write(buf[:])
		bw.Write(r[0])
		bw.Write(r[1])
	}
	for _, s := range slots {
		for _, e := range s {
			binary.LittleEndian.PutUint32(buf[:], e.h)
			binary.LittleEndian.PutUint32(buf[4:], e.pos)
			bw.Write(buf[:])
		}
	}
	// bufio keeps the first write error and returns it here.
	return bw.Flush()
}

// WriteFile writes records as a cdb to path atomically, as tcprules and
// qmail-newmrh do: into a temporary file in the same directory, synced,
// then renamed over path, so readers see the old file or the new one.
func WriteFile(path string, records [][2][]byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := Write(f, records); err != nil {
		return fmt.Errorf("%s: %w", tmp, err)
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
