// Command qsend is the one binary of the qsend mail transfer agent: the
// daemon, the queue tools and the intake programs. Invoked through a link
// named after a qmail program (qmail-queue, qmail-qread, qmail-qstat, mailq)
// it behaves as that program.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/qsend/qsend/config"
)

// exitError ends the program with a given status after printing its message
// (if any) to stderr.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

// argv0Commands maps the qmail program names qsend answers to onto its own
// command line.
var argv0Commands = map[string][]string{
	"qmail-queue":  {"qmail-queue"},
	"qmail-qread":  {"queue", "list"},
	"qmail-qstat":  {"queue", "stat"},
	"mailq":        {"queue", "list"},
	"qmail-inject": {"inject"},
	"qmail-smtpd":  {"smtpd"},
	"sendmail":     {"sendmail"},
	"newaliases":   {"sendmail", "-bi"},
}

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	argv := args[1:]
	if pre, ok := argv0Commands[filepath.Base(args[0])]; ok {
		argv = append(append([]string(nil), pre...), argv...)
	}
	root := newRoot(stdout, stderr)
	root.SetArgs(argv)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "qsend:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "qsend:", err)
	return 1
}

// app is what every command shares: where to write and how to load the
// configuration.
type app struct {
	stdout, stderr io.Writer
	root           *cobra.Command
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "qsend",
		Short:         "qsend: a qmail-compatible mail transfer agent",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	config.AddFlags(root.PersistentFlags())
	a.root = root
	root.AddCommand(a.daemonCmd(), a.qmailQueueCmd(), a.queueCmd(), a.configCmd(), a.injectCmd(), a.sendmailCmd(), a.smtpdCmd(), a.tlsProbeCmd(), a.importQmailCmd(), a.installCmd(), a.dkimCmd())
	return root
}

// loadConfig builds the configuration from the flags, QSEND_* and the
// files; every command that needs it calls this first.
func (a *app) loadConfig() (*config.Config, config.Options, error) {
	opts := config.Options{Flags: a.root.PersistentFlags(), UID: -1}
	cfg, err := config.Load(opts)
	return cfg, opts, err
}
