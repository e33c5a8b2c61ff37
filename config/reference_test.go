package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md from the key table")

// referencePath is the committed reference, relative to this package.
var referencePath = filepath.Join("..", "docs", "configuration.md")

// TestReferenceIsCurrent: the committed docs/configuration.md is what
// Reference writes from the key table.
func TestReferenceIsCurrent(t *testing.T) {
	var b bytes.Buffer
	if err := Reference(&b); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(referencePath, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("%v; regenerate it with: go generate ./config (or go test ./config -run TestReferenceIsCurrent -update)", err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Errorf("docs/configuration.md is not what config/keys.go says; regenerate it with: go generate ./config (or go test ./config -run TestReferenceIsCurrent -update)")
	}
}

// TestEveryKeyIsDocumented: every key has its paragraph for the reference.
func TestEveryKeyIsDocumented(t *testing.T) {
	for _, k := range keys {
		if k.doc == "" {
			t.Errorf("key %s has no doc text in config/keys.go", k.name)
		}
	}
}

// TestAppliedOnReload: the keys that shape the queue file, the log, the
// listeners or the remote transport wait for the next start; the others
// are applied by SIGHUP.
func TestAppliedOnReload(t *testing.T) {
	for key, want := range map[string]bool{
		"state_dir": false, "log.format": false, "concurrencyremote": false, "smtpd.listen": false,
		"tls.mta_sts": false, "log.level": true, "rcpthosts": true, "tls.policy": true,
		"concurrencylocal": true, "no.such.key": false,
	} {
		if got := AppliedOnReload(key); got != want {
			t.Errorf("AppliedOnReload(%q) = %v, want %v", key, got, want)
		}
	}
}
