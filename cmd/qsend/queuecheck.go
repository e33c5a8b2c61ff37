package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/store"
)

// queueCheckCmd is `qsend queue check [--repair]`: the store's full check
// (bbolt's page checks, a decode of every record, the schedule index
// against the messages, bodies, dedupe keys, counters and meta pages),
// one line per problem on stdout, then a summary. With --repair it opens
// the file exclusively, so the daemon must be stopped, and moves
// undecodable records aside into the quarantine bucket, keeping their
// bytes. The exit status is 1 when damage is left.
func (a *app) queueCheckCmd() *cobra.Command {
	var repair bool
	c := &cobra.Command{
		Use:   "check [--repair]",
		Short: "Check the queue file; --repair moves damaged records aside (daemon stopped)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return a.withBackend(repair, func(b queueBackend, cfg *config.Config) error {
				switch b := b.(type) {
				case *offline:
					return a.check(b.st, repair)
				case *ctl.Client:
					if repair {
						return exitf(1, "the daemon is running: stop it for queue check --repair, which needs the file to itself")
					}
					ctx := context.Background()
					problems, err := b.Check(ctx)
					if err != nil {
						return exitf(1, "%v", err)
					}
					st, err := b.Stat(ctx)
					if err != nil {
						return exitf(1, "%v", err)
					}
					return a.report(problems, nil, ctl.LayoutOf(cfg.StateDir).Queue, st.Messages)
				}
				return exitf(1, "queue check: unknown backend %T", b)
			})
		},
	}
	c.Flags().BoolVar(&repair, "repair", false, "repair what can be repaired; undecodable records go to the quarantine bucket")
	return c
}

// check runs the check, or the repair and a second check, and prints both.
func (a *app) check(st *store.Store, repair bool) error {
	run := st.Inspect
	if repair {
		run = st.Repair
	}
	problems, err := run()
	if err != nil {
		return exitf(1, "%v", err)
	}
	var after []store.Problem
	if repair && len(problems) > 0 {
		if after, err = st.Inspect(); err != nil {
			return exitf(1, "%v", err)
		}
	}
	stats, err := st.Stats()
	if err != nil {
		return exitf(1, "%v", err)
	}
	return a.report(problems, after, st.Path(), stats.Messages)
}

// report prints what a check found, one line per problem, and what a
// second check after a repair found (after; nil when there was no
// repair), then a summary line naming the file and its messages. Damage
// left makes the exit status 1.
func (a *app) report(problems, after []store.Problem, file string, messages int) error {
	repaired := 0
	for _, p := range problems {
		fmt.Fprintln(a.stdout, p)
		if p.Repaired != "" {
			repaired++
		}
	}
	left := len(problems) - repaired
	if after != nil || repaired > 0 {
		for _, p := range after {
			fmt.Fprintf(a.stdout, "still there after the repair: %s\n", p.Text)
		}
		left = len(after)
	}
	fmt.Fprintf(a.stdout, "%s: %d messages; %d problems, %d repaired, %d left\n", file, messages, len(problems), repaired, left)
	if left > 0 {
		return exitf(1, "")
	}
	return nil
}

// damageHint is what an error about a damaged record adds for the
// administrator. The error may have come through the control socket as
// text, so it is recognised by the text of store.ErrCorrupt.
func damageHint(err error) string {
	if !strings.Contains(err.Error(), store.ErrCorrupt.Error()) {
		return ""
	}
	return "\n(qsend queue delete ID removes a damaged record; qsend queue check --repair, with the daemon stopped, moves it aside)"
}
