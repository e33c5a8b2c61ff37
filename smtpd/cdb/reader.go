package cdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrCorrupt is wrapped by the errors for a file that is not a valid cdb:
// too short, or a pointer or length that runs past the end of the file.
var ErrCorrupt = errors.New("not a valid cdb file")

// maxSize is the largest file the format can address (32-bit positions).
const maxSize = 1<<32 - 1

// DB is an open cdb file. Its methods may be called from several
// goroutines at once.
type DB struct {
	name   string
	r      io.ReaderAt
	closer io.Closer
	size   int64
	header [headerSize]byte
}

// Open opens the cdb file at path and reads its header.
func Open(path string) (*DB, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	db, err := newDB(path, f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	db.closer = f
	return db, nil
}

// newDB reads the header of the cdb held by r, size bytes long; name is
// used in error texts.
func newDB(name string, r io.ReaderAt, size int64) (*DB, error) {
	if size < headerSize {
		return nil, fmt.Errorf("%s: %w: %d bytes, shorter than the %d-byte header", name, ErrCorrupt, size, headerSize)
	}
	if size > maxSize {
		return nil, fmt.Errorf("%s: %w: %d bytes, more than 4 GiB", name, ErrCorrupt, size)
	}
	db := &DB{name: name, r: r, size: size}
	if _, err := r.ReadAt(db.header[:], 0); err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", name, err)
	}
	return db, nil
}

// Close closes the file.
func (db *DB) Close() error {
	if db.closer == nil {
		return nil
	}
	return db.closer.Close()
}

// Get returns the data of the first record whose key is key. ok is false,
// with a nil error, when there is none. An error means the file could not
// be read or is corrupt; it names the file.
func (db *DB) Get(key []byte) (data []byte, ok bool, err error) {
	h := hash(key)
	tab := (h & 0xff) * 8
	tpos := binary.LittleEndian.Uint32(db.header[tab:])
	tlen := binary.LittleEndian.Uint32(db.header[tab+4:])
	if tlen == 0 {
		return nil, false, nil
	}
	if int64(tpos)+int64(tlen)*8 > db.size {
		return nil, false, db.corrupt("hash table %d at %d with %d slots runs past the end", h&0xff, tpos, tlen)
	}
	var slot [8]byte
	start := (h >> 8) % tlen
	// Every slot is probed at most once, so a table without an empty slot
	// still ends (cdb.txt: a lookup stops at an empty slot).
	for i := uint32(0); i < tlen; i++ {
		pos := int64(tpos) + int64((start+i)%tlen)*8
		if err := db.readAt(slot[:], pos); err != nil {
			return nil, false, err
		}
		sh := binary.LittleEndian.Uint32(slot[:])
		rpos := binary.LittleEndian.Uint32(slot[4:])
		if rpos == 0 {
			return nil, false, nil
		}
		if sh != h {
			continue
		}
		data, ok, err := db.record(int64(rpos), key)
		if err != nil || ok {
			return data, ok, err
		}
	}
	return nil, false, nil
}

// record returns the data of the record at pos if its key is key.
func (db *DB) record(pos int64, key []byte) ([]byte, bool, error) {
	var lens [8]byte
	if pos+8 > db.size {
		return nil, false, db.corrupt("record at %d runs past the end", pos)
	}
	if err := db.readAt(lens[:], pos); err != nil {
		return nil, false, err
	}
	klen := int64(binary.LittleEndian.Uint32(lens[:]))
	dlen := int64(binary.LittleEndian.Uint32(lens[4:]))
	if pos+8+klen+dlen > db.size {
		return nil, false, db.corrupt("record at %d with a %d-byte key and %d bytes of data runs past the end", pos, klen, dlen)
	}
	if klen != int64(len(key)) {
		return nil, false, nil
	}
	k := make([]byte, klen)
	if err := db.readAt(k, pos+8); err != nil {
		return nil, false, err
	}
	if !bytes.Equal(k, key) {
		return nil, false, nil
	}
	data := make([]byte, dlen)
	if err := db.readAt(data, pos+8+klen); err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// readAt fills b from offset off, naming the file in errors.
func (db *DB) readAt(b []byte, off int64) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := db.r.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return db.corrupt("short read at %d", off)
		}
		return fmt.Errorf("%s: %w", db.name, err)
	}
	return nil
}

func (db *DB) corrupt(format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", db.name, ErrCorrupt, fmt.Sprintf(format, args...))
}
