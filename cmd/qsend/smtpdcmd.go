package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/intake/qq"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/setup"
	"github.com/qsend/qsend/smtpd"
)

func (a *app) smtpdCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "smtpd",
		Short: "One SMTP session on stdin and stdout, as qmail-smtpd under tcpserver, inetd or a systemd socket",
		Long: `smtpd serves one SMTP session on file descriptors 0 and 1, as qmail-smtpd
does under tcpserver: it reads TCPREMOTEIP, TCPLOCALIP, TCPREMOTEHOST,
TCPREMOTEINFO, RELAYCLIENT, DATABYTES, TLSCIPHERS, SMTPS and NOBADHELO from
the environment, the control files and configuration as the daemon's
listeners do, and queues through QMAILQUEUE when it is set, else through
the daemon (or the maildrop when the daemon is down). Example:

  tcpserver -x /etc/tcp.smtp.cdb -u qmaild -g nofiles 0 25 qsend smtpd`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return a.smtpSession(environ(), os.Stdin, a.stdout)
		},
	}
}

// smtpSession serves one SMTP session on in and out with the client
// described by env (qmail-smtpd's environment): qsend smtpd and
// sendmail -bs.
func (a *app) smtpSession(env map[string]string, in io.Reader, out io.Writer) error {
	cfg, _, err := a.loadConfig()
	if err != nil {
		// qmail-smtpd: "421 unable to read controls (#4.3.0)" and exit.
		fmt.Fprint(out, "421 unable to read controls (#4.3.0)\r\n")
		return exitf(1, "smtpd: configuration: %v", err)
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	built, err := setup.SMTPOptions(cfg, smtpd.EnvelopeOnly(queueFor(cfg, env, a.stderr)), log)
	if err != nil {
		fmt.Fprint(out, "421 unable to read controls (#4.3.0)\r\n")
		return exitf(1, "smtpd: %v", err)
	}
	defer built.Close()
	srv, err := smtpd.NewServer(built.Options)
	if err != nil {
		fmt.Fprint(out, "421 unable to read controls (#4.3.0)\r\n")
		return exitf(1, "smtpd: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	conn := smtpd.ConnFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return srv.ServeStdio(ctx, in, out, conn)
}

// queueFor is how a command queues a message: through QMAILQUEUE from env
// when it is set, run from qmail's home, the directory above control_dir
// (qmail.c qmail_open()), else through the daemon or the maildrop.
func queueFor(cfg *config.Config, env map[string]string, stderr io.Writer) qq.Queue {
	return qq.Queue{
		Layout:  ctl.LayoutOf(cfg.StateDir),
		Program: env["QMAILQUEUE"],
		Dir:     filepath.Dir(cfg.ControlDir),
		Env:     environList(env),
		Stderr:  stderr,
		PID:     os.Getpid(),
	}
}
