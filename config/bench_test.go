package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoad loads a typical file over a control directory with a
// 10000-line rcpthosts, as a reload on SIGHUP does.
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	ctl := filepath.Join(dir, "control")
	if err := os.Mkdir(ctl, 0o755); err != nil {
		b.Fatal(err)
	}
	var rcpt strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&rcpt, "domain%d.example\n", i)
	}
	files := map[string]string{"me": "mx.example\n", "rcpthosts": rcpt.String(), "concurrencyremote": "100\n",
		"smtproutes": ":relay.example:2525\n", "locals": "mx.example\nexample.com\n"}
	for name, contents := range files {
		if err := os.WriteFile(filepath.Join(ctl, name), []byte(contents), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	file := filepath.Join(dir, "qsend.yaml")
	y := "log: {format: json}\nsmtpd:\n  listen: [{address: \":25\"}, {address: \":587\", mode: submission}]\nqueuelifetime: 72h\n"
	if err := os.WriteFile(file, []byte(y), 0o644); err != nil {
		b.Fatal(err)
	}
	opts := Options{File: file, UID: 1000, Hostname: "h", Environ: []string{"HOME=/h", "QSEND_CONTROL_DIR=" + ctl}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(opts); err != nil {
			b.Fatal(err)
		}
	}
}
