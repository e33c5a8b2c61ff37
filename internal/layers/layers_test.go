package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "github.com/qsend/qsend"

// stages lists the module's packages from the lowest stage to the highest,
// each stage by the package paths (relative to the module) it holds: a
// path names that package and every package below it. A package may import
// packages of its own stage and of lower ones, never of a higher one
// (docs/layout.md):
//
//   - the queue's records and the qmail control-file reader depend on no
//     other qsend package;
//   - internal/ holds what several stages share (the envelope and address
//     rules, the qmail log events, Received lines, the control-socket
//     protocol, test helpers);
//   - config builds the configuration from the control files, YAML and
//     the environment;
//   - mx and tls look things up and decide TLS policy for the stages
//     above;
//   - delivery and intake move mail into and out of the queue; they are
//     peers that never import each other;
//   - smtpd is the SMTP server, which hands messages to the queue;
//   - setup builds the components from a configuration;
//   - daemon is the process that owns the queue; cmd is the binary.
var stages = []struct {
	name  string
	paths []string
	// peers are paths of this stage that may not import one another.
	peers []string
}{
	{name: "foundation", paths: []string{"store", "config/control", "docs/man"}},
	{name: "shared", paths: []string{"internal"}},
	{name: "configuration", paths: []string{"config"}},
	{name: "lookups", paths: []string{"mx", "tls"}},
	{name: "transport", paths: []string{"delivery", "intake"}, peers: []string{"delivery", "intake"}},
	{name: "server", paths: []string{"smtpd"}},
	{name: "setup", paths: []string{"setup"}},
	{name: "process", paths: []string{"daemon"}},
	{name: "command", paths: []string{"cmd"}},
}

// under reports whether package p (relative to the module) is prefix or
// below it.
func under(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

// stageOf returns the index in stages of package p and the stage path
// that matched, the longest one; -1 when p belongs to no stage.
func stageOf(p string) (int, string) {
	best, match := -1, ""
	for i, st := range stages {
		for _, prefix := range st.paths {
			if under(p, prefix) && len(prefix) > len(match) {
				best, match = i, prefix
			}
		}
	}
	return best, match
}

// peerOf returns the peer path of stage i that holds p, or "".
func peerOf(i int, p string) string {
	for _, peer := range stages[i].peers {
		if under(p, peer) {
			return peer
		}
	}
	return ""
}

// testHelper reports whether p only serves tests: its last element ends
// in "test" (smtptest, certtest, dnstest, ...) or is testlib. Such a
// package may be imported from _test files and from other test helpers,
// never from code that ships.
func testHelper(p string) bool {
	base := path.Base(p)
	return strings.HasSuffix(base, "test") || base == "testlib"
}

// check returns what is wrong with importer importing imported, both
// relative to the module; "" when the import is allowed.
func check(importer, imported string) string {
	from, _ := stageOf(importer)
	to, _ := stageOf(imported)
	switch {
	case from < 0:
		return importer + " belongs to no stage: add its folder to the stages in internal/layers"
	case to < 0:
		return imported + " belongs to no stage: add its folder to the stages in internal/layers"
	case testHelper(imported) && !testHelper(importer):
		return importer + " (stage " + stages[from].name + ") imports the test helper " + imported + " (stage " + stages[to].name + "), which only tests may import"
	case to > from:
		return importer + " (stage " + stages[from].name + ") imports " + imported + " of the higher stage " + stages[to].name
	case to == from:
		if a, b := peerOf(from, importer), peerOf(to, imported); a != "" && b != "" && a != b {
			return importer + " (" + a + ", stage " + stages[from].name + ") imports " + imported + " (" + b + ", stage " + stages[to].name + "), and " + a + " and " + b + " may not import each other"
		}
	}
	return ""
}

type pkg struct {
	ImportPath string
	Imports    []string
}

// modulePackages lists every package of the module with its non-test
// imports, from the module's root.
func modulePackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list's output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// TestLayers fails for every import of a package of a higher stage, of a
// peer, or of a test helper outside tests.
func TestLayers(t *testing.T) {
	for _, p := range modulePackages(t) {
		importer, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			t.Errorf("package %s is outside module %s", p.ImportPath, module)
			continue
		}
		if why := check(importer, importer); why != "" {
			t.Error(why) // the package itself belongs to no stage
			continue
		}
		for _, imp := range p.Imports {
			imported, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue // the standard library or another module
			}
			if why := check(importer, imported); why != "" {
				t.Error(why)
			}
		}
	}
}

// TestCheck shows that the rules catch what they are meant to.
func TestCheck(t *testing.T) {
	tests := []struct {
		importer, imported string
		ok                 bool
	}{
		{"delivery", "internal/qmaillog", true},
		{"delivery/remote", "mx", true},
		{"delivery/local", "delivery", true},
		{"daemon", "setup", true},
		{"smtpd", "setup", false},
		{"cmd/qsend", "daemon", true},
		{"internal/ctl", "store", true},
		{"delivery/smtpclient/smtptest", "internal/testlib", true},
		{"delivery", "daemon/qmaillog", false},
		{"intake", "daemon/ctl", false},
		{"intake/inject", "delivery/rewrite", false},
		{"delivery/bounce", "intake", false},
		{"smtpd", "daemon", false},
		{"setup", "daemon", false},
		{"daemon", "cmd/qsend", false},
		{"store", "internal/envelope", false},
		{"mx", "delivery", false},
		{"delivery/remote", "mx/dnstest", false},
		{"daemon", "internal/testlib", false},
		{"newfolder", "store", false},
	}
	for _, tt := range tests {
		why := check(tt.importer, tt.imported)
		if (why == "") != tt.ok {
			t.Errorf("check(%q, %q) = %q, want allowed %v", tt.importer, tt.imported, why, tt.ok)
		}
	}
}
