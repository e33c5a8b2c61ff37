package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// fixture is one Load call's inputs, written to a temporary directory.
type fixture struct {
	control map[string]string // control files; a value of "<dir>" makes a directory
	yaml    string            // the config file; "" for none
	env     []string          // before the defaults, so these win
	args    []string          // command-line flags
	uid     int               // 0 means 1000
}

// run writes the fixture and calls Load. In yaml, env and args "$T" stands
// for the temporary directory. The control directory is $T/control, named by
// QSEND_CONTROL_DIR unless env sets it.
func (f fixture) run(t *testing.T) (*Config, string, error) {
	t.Helper()
	dir := t.TempDir()
	ctl := filepath.Join(dir, "control")
	if err := os.Mkdir(ctl, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, contents := range f.control {
		path := filepath.Join(ctl, name)
		var err error
		if contents == "<dir>" {
			err = os.Mkdir(path, 0o755)
		} else {
			err = os.WriteFile(path, []byte(contents), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	sub := func(s string) string { return strings.ReplaceAll(s, "$T", dir) }
	opts := Options{
		UID:         f.uid,
		Hostname:    "host.example",
		DefaultFile: filepath.Join(dir, "absent.yaml"),
	}
	if opts.UID == 0 {
		opts.UID = 1000
	}
	if f.yaml != "" {
		opts.File = filepath.Join(dir, "qsend.yaml")
		if err := os.WriteFile(opts.File, []byte(sub(f.yaml)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range f.env {
		opts.Environ = append(opts.Environ, sub(e))
	}
	opts.Environ = append(opts.Environ, "HOME=/home/u", "QSEND_CONTROL_DIR="+ctl, "PATH=/bin")
	fs := pflag.NewFlagSet("qsend", pflag.ContinueOnError)
	AddFlags(fs)
	args := make([]string, len(f.args))
	for i, a := range f.args {
		args[i] = sub(a)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	opts.Flags = fs
	c, err := Load(opts)
	return c, dir, err
}

// lookup returns the value and origin of key in c.
func lookup(t *testing.T, c *Config, key string) (value, origin string) {
	t.Helper()
	for _, s := range c.Settings() {
		if s.Key == key {
			return s.Value, s.Origin
		}
	}
	t.Fatalf("no key %s", key)
	return "", ""
}

// newFlags returns a flag set with AddFlags's flags, parsed from args.
func newFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("qsend", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}
