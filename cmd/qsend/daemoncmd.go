package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/qsend/qsend/daemon"
	"github.com/qsend/qsend/setup"
)

func (a *app) daemonCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "daemon",
		Short: "Run the queue manager: delivery, control socket, maildrop import",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			// The configuration is checked completely before anything
			// touches state_dir or the queue.
			cfg, opts, err := a.loadConfig()
			if err != nil {
				return exitf(2, "configuration: %v; not starting", err)
			}
			level := new(slog.LevelVar)
			level.Set(cfg.LogLevel)
			log, err := setup.Logger(a.stderr, cfg.LogFormat, level)
			if err != nil {
				return exitf(2, "configuration: %v; not starting", err)
			}
			if err := daemon.Run(context.Background(), cfg, opts, log, level); err != nil {
				log.Error("alert: cannot run", "err", err)
				return exitf(111, "")
			}
			return nil
		},
	}
}
