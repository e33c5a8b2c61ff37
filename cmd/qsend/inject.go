package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/qsend/qsend/intake/inject"
	"github.com/qsend/qsend/intake/qq"
)

func (a *app) injectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inject [-aAhHnN] [-f sender] [--] [recipient ...]",
		Short: "qmail-inject: rewrite the header of a message on stdin as qmail-inject does, and queue it",
		Long: `inject is qmail-inject: it reads a message on stdin, completes its header
(Date, Message-ID, From; addresses get @defaulthost, .defaultdomain and
.plusdomain) and queues it for the recipients on the command line, or
those of To, Cc, Bcc and Apparently-To (or the Resent- fields) when there
are none. -a: arguments only; -h: header only; -A: arguments, else header
(the default); -H: both; -f sender: envelope sender; -n: print the message
instead of queueing it; -N: queue (the default). The environment (QMAILUSER,
QMAILHOST, QMAILNAME, QMAILINJECT, QMAILMFTFILE, QMAILQUEUE, ...) works as
for qmail-inject. Exit 0 once the message is durable, 100 for a permanent
failure, 111 for a temporary one. qsend's own --config, --state-dir, ...
may come before the options.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := a.takeRootFlags(cmd, args)
			if err != nil || args == nil {
				return err
			}
			return a.inject(args, environ(), os.Stdin)
		},
	}
}

// takeRootFlags sets qsend's own flags (--config, --state-dir, ...) that
// come before a command's qmail-style options, which cobra leaves in args
// when the command parses its flags itself. It returns nil args after
// printing the help for --help.
func (a *app) takeRootFlags(cmd *cobra.Command, args []string) ([]string, error) {
	fs := a.root.PersistentFlags()
	for len(args) > 0 && strings.HasPrefix(args[0], "--") && len(args[0]) > 2 {
		name, val, hasVal := strings.Cut(args[0][2:], "=")
		if name == "help" {
			return nil, cmd.Help()
		}
		f := fs.Lookup(name)
		if f == nil {
			break
		}
		args = args[1:]
		if !hasVal {
			if len(args) == 0 {
				return nil, exitf(inject.ExitPermanent, "flag --%s needs a value", name)
			}
			val, args = args[0], args[1:]
		}
		if err := fs.Set(name, val); err != nil {
			return nil, exitf(inject.ExitPermanent, "flag --%s: %v", name, err)
		}
	}
	return append([]string{}, args...), nil
}

// inject runs qmail-inject with args (after the program name) and env on
// the message stdin.
func (a *app) inject(args []string, env map[string]string, stdin io.Reader) error {
	opts, err := inject.ParseArgs(args)
	if err != nil {
		return a.injectFailed(err)
	}
	cfg, _, err := a.loadConfig()
	if err != nil {
		// qmail-inject cannot read its control files: a temporary failure.
		return a.injectFailed(&inject.Error{Code: inject.ExitTemporary, Msg: "qmail-inject: fatal: read error: configuration: " + err.Error(), Err: err})
	}
	msg, err := inject.Inject(inject.Input{
		Options: opts,
		Env:     env,
		Controls: inject.Controls{
			DefaultDomain: cfg.DefaultDomain,
			DefaultHost:   cfg.DefaultHost,
			PlusDomain:    cfg.PlusDomain,
			IDHost:        cfg.IDHost,
		},
		Now: time.Now(),
		PID: os.Getpid(),
	}, stdin)
	if err != nil {
		return a.injectFailed(err)
	}
	if opts.Print {
		if _, err := io.Copy(a.stdout, msg.Reader()); err != nil {
			return a.injectFailed(&inject.Error{Code: inject.ExitTemporary, Msg: "qmail-inject: fatal: " + err.Error(), Err: err})
		}
		return nil
	}
	q := queueFor(cfg, env, a.stderr)
	ctx, cancel := context.WithTimeout(context.Background(), qmailQueueTimeout)
	defer cancel()
	if _, err := q.Put(ctx, msg.Envelope, msg.Reader()); err != nil {
		// qmail-inject prints qmail_close's text (qmail.c qmail_close())
		// and exits 100 for a permanent failure, 111 otherwise.
		text, permanent := qq.Text(err)
		fmt.Fprintf(a.stderr, "qmail-inject: fatal: %s\n", text)
		if detail := err.Error(); detail != text {
			fmt.Fprintf(a.stderr, "qmail-inject: %s\n", detail)
		}
		if permanent {
			return exitf(inject.ExitPermanent, "")
		}
		return exitf(inject.ExitTemporary, "")
	}
	return nil
}

// injectFailed prints an error of qmail-inject or sendmail as they do and
// returns its exit status.
func (a *app) injectFailed(err error) error {
	var ie *inject.Error
	if !errors.As(err, &ie) {
		ie = &inject.Error{Code: inject.ExitTemporary, Msg: "qmail-inject: fatal: " + err.Error()}
	}
	fmt.Fprintln(a.stderr, ie.Msg)
	return exitf(ie.Code, "")
}

// environ returns the process environment as a map.
func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := env[k]; !dup {
			env[k] = v
		}
	}
	return env
}

// environList returns env as NAME=value strings, sorted.
func environList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
