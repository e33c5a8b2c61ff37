package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteDefaultFile(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDefaultFile(&b); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "qsend.yaml")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// The control directory holds a value different from the default: the
	// file must not hide it.
	ctl := filepath.Join(dir, "control")
	if err := os.Mkdir(ctl, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctl, "concurrencyremote"), []byte("7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(file string) *Config {
		t.Helper()
		c, err := Load(Options{File: file, UID: 1000, Hostname: "h.example", DefaultFile: filepath.Join(dir, "none.yaml"),
			Environ: []string{"QSEND_CONTROL_DIR=" + ctl}})
		if err != nil {
			t.Fatalf("loading %s: %v\n%s", file, err, b.String())
		}
		return c
	}
	withFile, without := load(file).Settings(), load("").Settings()
	for i, s := range withFile {
		if s.Value != without[i].Value {
			t.Errorf("%s = %s with the file, %s without", s.Key, s.Value, without[i].Value)
		}
		if s.Key == "concurrencyremote" && s.Value != "7" {
			t.Errorf("concurrencyremote = %s; the file hid the control file", s.Value)
		}
	}
	for _, k := range keys {
		name := k.name
		if _, sub, ok := strings.Cut(name, "."); ok {
			name = sub
		}
		if !strings.Contains(b.String(), " "+name+": ") && !strings.Contains(b.String(), "\n"+name+": ") {
			t.Errorf("key %s is not in the file", k.name)
		}
	}
}
