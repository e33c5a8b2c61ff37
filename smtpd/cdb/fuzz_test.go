package cdb

import (
	"bytes"
	"testing"
)

// FuzzOpen reads arbitrary bytes as a cdb: Open and Get must return data
// or an error, never panic, loop or allocate more than the file holds.
func FuzzOpen(f *testing.F) {
	var b bytes.Buffer
	Write(&b, [][2][]byte{rec("127.0.0.1", "+RELAYCLIENT=\x00"), rec("", "D\x00"), rec("a", "1"), rec("a", "2")})
	f.Add(b.Bytes(), []byte("127.0.0.1"))
	f.Add(b.Bytes(), []byte("a"))
	b.Reset()
	Write(&b, nil)
	f.Add(b.Bytes(), []byte(""))
	f.Add([]byte("short"), []byte("x"))
	f.Fuzz(func(t *testing.T, data, key []byte) {
		db, err := newDB("fuzz", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		got, ok, err := db.Get(key)
		if err != nil {
			return
		}
		if ok && len(got)+len(key)+8 > len(data) {
			t.Fatalf("record of %d bytes from a %d-byte file", len(got)+len(key)+8, len(data))
		}
	})
}

// FuzzWrite checks that whatever Write stores, Get finds again.
func FuzzWrite(f *testing.F) {
	f.Add([]byte("k"), []byte("v"), []byte("k2"), []byte(""))
	f.Add([]byte(""), []byte(""), []byte(""), []byte("x"))
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 []byte) {
		var b bytes.Buffer
		if err := Write(&b, [][2][]byte{{k1, v1}, {k2, v2}}); err != nil {
			t.Fatal(err)
		}
		db, err := newDB("fuzz", bytes.NewReader(b.Bytes()), int64(b.Len()))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range [][2][]byte{{k1, v1}, {k2, v2}} {
			want := r[1]
			if bytes.Equal(r[0], k1) {
				want = v1 // the first of duplicates wins
			}
			got, ok, err := db.Get(r[0])
			if err != nil || !ok || !bytes.Equal(got, want) {
				t.Fatalf("Get(%q) = %q, %v, %v; want %q", r[0], got, ok, err, want)
			}
		}
	})
}
