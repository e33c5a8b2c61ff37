package main

import (
	"github.com/spf13/cobra"
)

func (a *app) configCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration and where each value came from",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, _, err := a.loadConfig()
			if err != nil {
				return exitf(2, "configuration: %v", err)
			}
			return cfg.Write(a.stdout, asJSON)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per setting")
	return c
}
