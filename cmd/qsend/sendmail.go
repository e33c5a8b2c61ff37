package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/qsend/qsend/intake/inject"
)

func (a *app) sendmailCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sendmail [-t] [-f sender] [-F name] [-bp|-bs|-bm] [-q] [--] [recipient ...]",
		Short: "The sendmail interface programs call: qmail's sendmail wrapper around inject",
		Long: `sendmail is qmail's sendmail wrapper: it queues the message on stdin
through qsend inject, for the recipients on the command line (-a), or with
-t for those and the header's (-H). -f sender sets the envelope sender and
the From field; -F name the full name. -bp lists the queue (as mailq), -q
retries it now, -bs runs an SMTP session on stdin and stdout, -bi
(newaliases) does nothing. -B -p -v -i -x -m -e -o* -E -J are accepted and
ignored, as qmail's sendmail does.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := a.takeRootFlags(cmd, args)
			if err != nil || args == nil {
				return err
			}
			return a.sendmail(args, environ(), os.Stdin)
		},
	}
}

// sendmail runs a sendmail command line (after the program name) with env
// on the message stdin (sendmail.c main()).
func (a *app) sendmail(args []string, env map[string]string, stdin io.Reader) error {
	sm, err := inject.ParseSendmail(args, env)
	if err != nil {
		return a.injectFailed(err)
	}
	switch sm.Mode {
	case inject.SendmailQueueList:
		return a.runCommand("queue", "list")
	case inject.SendmailFlush:
		return a.runCommand("queue", "flush")
	case inject.SendmailSMTP:
		return sendmailSMTP(a, sm.Env, stdin)
	case inject.SendmailNewAliases:
		return nil
	}
	return a.inject(sm.InjectArgs, sm.Env, stdin)
}

// runCommand runs one of qsend's own commands, without arguments, as if
// it had been given on the command line.
func (a *app) runCommand(path ...string) error {
	cmd, _, err := a.root.Find(path)
	if err != nil || cmd.RunE == nil {
		return fmt.Errorf("no command %v", path)
	}
	return cmd.RunE(cmd, nil)
}

// sendmailSMTP runs sendmail -bs: one SMTP session on stdin and a.stdout
// with env, where qmail's sendmail has set RELAYCLIENT, DATABYTES=0 and a
// 127.0.0.1 TCP environment unless PROTO was set (sendmail.c
// smtpd()).
func sendmailSMTP(a *app, env map[string]string, stdin io.Reader) error {
	return a.smtpSession(env, stdin, a.stdout)
}
