package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// A bbolt file begins with two meta pages, 0 and 1. A commit writes the
// page numbered by its transaction id modulo 2, and Open uses the valid
// page with the higher transaction id, falling back to the other one
// without a word when one is damaged (go.etcd.io/bbolt db.go meta(),
// internal/common/meta.go Meta.Write). Each is a 16-byte page header, then
// these fields in the machine's byte order: magic, version, page size,
// flags (4 bytes each), root bucket page and sequence, freelist page, page
// high-water mark, transaction id (8 bytes each), and an FNV-64a checksum
// of everything before it (Meta.Sum64).
const (
	metaMagic     = 0xED0CDAED
	metaVersion   = 2
	pageHeaderLen = 16
	metaLen       = 64
	metaSumLen    = 56
	// maxPageShift bounds the page sizes tried for meta page 1 when page
	// 0 gives none, as bbolt does (db.go getPageSizeFromSecondMeta):
	// 1 KiB to 16 MiB.
	maxPageShift = 14
)

// meta is what the store needs from a valid meta page.
type meta struct {
	pageSize int64
	pages    int64 // the high-water mark: pages the file must hold
	txid     uint64
}

// metaState is what reading both meta pages found.
type metaState struct {
	page [2]meta
	bad  [2]error // why each page is not valid; nil when it is
	// used is the page bbolt opens the file with, -1 when neither is valid.
	used int
}

// parseMeta validates one meta page, given from its start.
func parseMeta(b []byte) (meta, error) {
	if len(b) < pageHeaderLen+metaLen {
		return meta{}, errors.New("cut short")
	}
	m := b[pageHeaderLen : pageHeaderLen+metaLen]
	e := binary.NativeEndian
	switch magic := e.Uint32(m); {
	case bytes.Count(b, []byte{0}) == len(b):
		return meta{}, errors.New("zeroed")
	case magic != metaMagic:
		return meta{}, fmt.Errorf("magic %#x, want %#x", magic, metaMagic)
	case e.Uint32(m[4:]) != metaVersion:
		return meta{}, fmt.Errorf("version %d, want %d", e.Uint32(m[4:]), metaVersion)
	}
	h := fnv.New64a()
	h.Write(m[:metaSumLen])
	if h.Sum64() != e.Uint64(m[metaSumLen:]) {
		return meta{}, errors.New("checksum mismatch")
	}
	return meta{pageSize: int64(e.Uint32(m[8:])), pages: int64(e.Uint64(m[40:])), txid: e.Uint64(m[48:])}, nil
}

// readMetaPages reads both meta pages of a file of size bytes. Page 1 is found
// from page 0's page size, or else by trying each size bbolt could have
// used.
func readMetaPages(f io.ReaderAt, size int64) metaState {
	var st metaState
	read := func(off int64) []byte {
		b := make([]byte, pageHeaderLen+metaLen)
		if n, _ := f.ReadAt(b, off); n < len(b) {
			return b[:n]
		}
		return b
	}
	// Page 0 is judged on its first 4 KiB, as bbolt reads it
	// (db.go getPageSizeFromFirstMeta), so that "zeroed" means the whole
	// header area.
	first := make([]byte, 4096)
	n, _ := f.ReadAt(first, 0)
	st.page[0], st.bad[0] = parseMeta(first[:n])
	if st.bad[0] == nil {
		st.page[1], st.bad[1] = parseMeta(read(st.page[0].pageSize))
	} else {
		st.bad[1] = errors.New("not found at any page size")
		for i := range maxPageShift + 1 {
			off := int64(1024) << i
			if off >= size {
				break
			}
			if m, err := parseMeta(read(off)); err == nil {
				st.page[1], st.bad[1] = m, nil
				break
			}
		}
	}
	st.used = -1
	for i := range 2 {
		if st.bad[i] == nil && (st.used < 0 || st.page[i].txid > st.page[st.used].txid) {
			st.used = i
		}
	}
	return st
}

// inspectMeta reads the meta pages of an existing file before bbolt opens
// it: a file shorter than its pages need is refused here, with the sizes,
// since bbolt would map the missing pages and fault on them. A file that
// cannot be read, or has no valid meta page, is left for bbolt to report
// (st.used is then -1).
func inspectMeta(path string) (metaState, error) {
	none := metaState{used: -1}
	f, err := os.Open(path)
	if err != nil {
		return none, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return none, nil
	}
	st := readMetaPages(f, fi.Size())
	if st.used < 0 {
		return st, nil
	}
	m := st.page[st.used]
	if need := m.pages * m.pageSize; fi.Size() < need {
		return st, fmt.Errorf("store %s: file is truncated: %d bytes, its pages need %d: %w", path, fi.Size(), need, ErrCorrupt)
	}
	return st, nil
}

// problems describes the damaged meta pages of a file bbolt could open.
func (st metaState) problems() []Problem {
	var out []Problem
	for i, err := range st.bad {
		if err != nil && st.used >= 0 {
			out = append(out, Problem{Text: fmt.Sprintf("bbolt meta page %d: %v (the file is read from meta page %d, transaction %d)", i, err, st.used, st.page[st.used].txid)})
		}
	}
	return out
}
