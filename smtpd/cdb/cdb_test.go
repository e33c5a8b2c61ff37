package cdb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rec builds a record from strings.
func rec(k, v string) [2][]byte { return [2][]byte{[]byte(k), []byte(v)} }

// writeDB writes records to a cdb file in a temporary directory and opens it.
func writeDB(t *testing.T, records [][2][]byte) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.cdb")
	if err := WriteFile(path, records, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestRoundTrip(t *testing.T) {
	many := make([][2][]byte, 5000)
	for i := range many {
		many[i] = rec(fmt.Sprintf("host%d.example", i), fmt.Sprint(i))
	}
	tests := []struct {
		name    string
		records [][2][]byte
		lookups map[string]string // key → data; "\x00none" for absent
	}{
		{"empty", nil, map[string]string{"": "\x00none", "a": "\x00none"}},
		{"one", [][2][]byte{rec("example.com", "")}, map[string]string{"example.com": "", "example.co": "\x00none"}},
		{"empty key", [][2][]byte{rec("", "default")}, map[string]string{"": "default", "x": "\x00none"}},
		{"first of duplicates", [][2][]byte{rec("k", "first"), rec("k", "second")}, map[string]string{"k": "first"}},
		{"binary", [][2][]byte{rec("a\x00b", "D\x00+X=y\x00")}, map[string]string{"a\x00b": "D\x00+X=y\x00", "a": "\x00none"}},
		{"many", many, map[string]string{"host0.example": "0", "host4999.example": "4999", "host5000.example": "\x00none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := writeDB(t, tt.records)
			for k, want := range tt.lookups {
				got, ok, err := db.Get([]byte(k))
				if err != nil {
					t.Fatalf("Get(%q): %v", k, err)
				}
				if want == "\x00none" {
					if ok {
						t.Errorf("Get(%q) = %q, want absent", k, got)
					}
					continue
				}
				if !ok || string(got) != want {
					t.Errorf("Get(%q) = %q, %v; want %q", k, got, ok, want)
				}
			}
		})
	}
}

func TestEveryRecordFound(t *testing.T) {
	records := make([][2][]byte, 2000)
	for i := range records {
		records[i] = rec(fmt.Sprintf("%d.", i), fmt.Sprintf("v%d", i))
	}
	db := writeDB(t, records)
	for _, r := range records {
		got, ok, err := db.Get(r[0])
		if err != nil || !ok || !bytes.Equal(got, r[1]) {
			t.Fatalf("Get(%q) = %q, %v, %v", r[0], got, ok, err)
		}
	}
}

func TestCorrupt(t *testing.T) {
	var good bytes.Buffer
	if err := Write(&good, [][2][]byte{rec("key", "data")}); err != nil {
		t.Fatal(err)
	}
	h := hash([]byte("key")) & 0xff
	tests := []struct {
		name string
		data func() []byte
	}{
		{"short", func() []byte { return make([]byte, 100) }},
		{"table past end", func() []byte {
			b := bytes.Clone(good.Bytes())
			b[h*8+4] = 0xff
			return b
		}},
		{"record past end", func() []byte {
			b := bytes.Clone(good.Bytes())
			b[headerSize+4] = 0xff // data length of the record
			b[headerSize+5] = 0xff
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.cdb")
			if err := os.WriteFile(path, tt.data(), 0o644); err != nil {
				t.Fatal(err)
			}
			db, err := Open(path)
			if err == nil {
				defer db.Close()
				_, _, err = db.Get([]byte("key"))
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
		})
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "none.cdb"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

// TestTcprulesCompat checks both directions against ucspi-tcp: a cdb written
// by tcprules is read by Get, and one written by Write is read by
// tcprulescheck. scripts/test installs Debian's ucspi-tcp.
func TestTcprulesCompat(t *testing.T) {
	tcprules, err := exec.LookPath("tcprules")
	if err != nil {
		t.Skip("tcprules not installed (Debian package ucspi-tcp); skipping the compatibility test")
	}
	check, err := exec.LookPath("tcprulescheck")
	if err != nil {
		t.Skip("tcprulescheck not installed (Debian package ucspi-tcp)")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.cdb")
	var rules strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&rules, "10.0.%d.:allow,N=\"%d\"\n", i%256, i)
	}
	rules.WriteString("127.0.0.1:allow,RELAYCLIENT=\"\"\n:deny\n")
	cmd := exec.Command(tcprules, path, path+".tmp")
	cmd.Stdin = strings.NewReader(rules.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tcprules: %v: %s", err, out)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for key, want := range map[string]string{
		"127.0.0.1": "+RELAYCLIENT=\x00",
		"10.0.7.":   "+N=7\x00",
		"":          "D\x00",
	} {
		got, ok, err := db.Get([]byte(key))
		if err != nil || !ok || string(got) != want {
			t.Errorf("Get(%q) = %q, %v, %v; want %q", key, got, ok, err, want)
		}
	}

	// The other direction: tcprulescheck reads our file.
	ours := filepath.Join(dir, "ours.cdb")
	if err := WriteFile(ours, [][2][]byte{
		rec("192.0.2.1", "+RELAYCLIENT=@fix.me\x00"),
		rec("192.0.2.", "D\x00"),
		rec("", "+DEFAULT=yes\x00"),
	}, 0o644); err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]string{
		"192.0.2.1":    "rule 192.0.2.1:\nset environment variable RELAYCLIENT=@fix.me\nallow connection\n",
		"192.0.2.9":    "rule 192.0.2.:\ndeny connection\n",
		"198.51.100.1": "rule :\nset environment variable DEFAULT=yes\nallow connection\n",
	} {
		cmd := exec.Command(check, ours)
		cmd.Env = []string{"TCPREMOTEIP=" + ip}
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != want {
			t.Errorf("tcprulescheck for %s: %v\n%s\nwant\n%s", ip, err, out, want)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	records := make([][2][]byte, 100000)
	for i := range records {
		records[i] = rec(fmt.Sprintf("domain%d.example", i), "")
	}
	path := filepath.Join(b.TempDir(), "morercpthosts.cdb")
	if err := WriteFile(path, records, 0o644); err != nil {
		b.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, key := range []string{"domain4242.example", "absent.example"} {
		b.Run(key, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				db.Get([]byte(key))
			}
		})
	}
}
