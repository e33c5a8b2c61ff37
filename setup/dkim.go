package setup

import (
	"log/slog"
	"path/filepath"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/internal/dkim"
)

// DKIMDir is the folder of DKIM keys in control_dir, the qmail-dkim
// patches' layout (docs/dkim.md).
func DKIMDir(cfg *config.Config) string { return filepath.Join(cfg.ControlDir, "domainkeys") }

// DKIMKeys reads the DKIM keys of cfg: control_dir/domainkeys, with the
// domains of dkim.keys replaced by their entries. The error names every
// key file at fault.
func DKIMKeys(cfg *config.Config) (*dkim.Keys, error) {
	specs := make([]dkim.Spec, 0, len(cfg.DKIMKeys))
	for _, k := range cfg.DKIMKeys {
		specs = append(specs, dkim.Spec{Domain: k.Domain, Selector: k.Selector, File: k.Key})
	}
	return dkim.Load(DKIMDir(cfg), specs)
}

// DKIM builds the signer of cfg's keys. A message that cannot be read
// twice is kept in scratch while it is signed; counters, which outlive
// the signer across reloads, count what it does.
func DKIM(cfg *config.Config, scratch string, counters *dkim.Counters, log *slog.Logger) (*dkim.Signer, error) {
	ks, err := DKIMKeys(cfg)
	if err != nil {
		return nil, err
	}
	return dkim.New(ks, dkim.Options{ScratchDir: scratch, Counters: counters, Logger: log}), nil
}
