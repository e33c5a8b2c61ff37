package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDebianPackage builds the .deb with scripts/package and installs,
// checks, removes and purges it with dpkg in an overlay of / in a private
// mount namespace (scripts/package-test says what it checks).
func TestDebianPackage(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("dpkg in an overlay of / needs root")
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("no dpkg-deb: not a Debian machine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		return string(out)
	}
	out := t.TempDir()
	deb := strings.TrimSpace(run("../../scripts/package", out))
	if !strings.HasSuffix(deb, ".deb") {
		t.Fatalf("scripts/package printed %q", deb)
	}
	if got := run("dpkg-deb", "--field", deb, "Provides", "Conflicts", "Replaces"); strings.Count(got, "mail-transport-agent") != 3 {
		t.Errorf("control fields:\n%s", got)
	}
	if got := run("../../scripts/package-test", deb, t.TempDir()); !strings.Contains(got, "package-test: ok") {
		t.Fatalf("scripts/package-test:\n%s", got)
	}
	if _, err := os.Lstat("/usr/sbin/qsend"); err == nil {
		t.Error("/usr/sbin/qsend exists on the machine itself")
	}
}
