package main

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/qsend/qsend/intake"
	"github.com/qsend/qsend/internal/ctl"
	mailenv "github.com/qsend/qsend/internal/envelope"
)

// qmailQueueTimeout is qmail-queue's alarm (qmail-queue.8).
const qmailQueueTimeout = 86400 * time.Second

func (a *app) qmailQueueCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "qmail-queue",
		Short: "Queue a message: message on fd 0, envelope on fd 1, qmail-queue's exit codes",
		Long: `qmail-queue reads a message from file descriptor 0 and its envelope from
file descriptor 1 (F<sender>\0 then T<recipient>\0 for each recipient, then
\0), queues it and exits 0 once it is durable. Exit codes are qmail-queue's:
11-40 permanent failures, others temporary (11 address too long, 53 write
error or disk full, 54 read error, 55 configuration, 91 envelope format).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, _, err := a.loadConfig()
			if err != nil {
				return exitf(intake.ExitConfig, "qmail-queue: configuration: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), qmailQueueTimeout)
			defer cancel()
			envFile := os.NewFile(1, "envelope (fd 1)")
			_, err = intake.Submit(ctx, ctl.LayoutOf(cfg.StateDir), os.Getpid(), os.Stdin, func() (mailenv.Envelope, error) {
				return intake.ReadEnvelope(envFile)
			})
			if err != nil {
				code := intake.ExitCode(err)
				if ctx.Err() != nil {
					code = intake.ExitTimeout
				}
				return exitf(code, "qmail-queue: %v", err)
			}
			return nil
		},
	}
}
