package config

import (
	"errors"
	"io/fs"
	"os"
)

// DefaultFile is the config file read when neither --config nor
// QSEND_CONFIG names one and it exists.
const DefaultFile = "/etc/qsend/qsend.yaml"

// Locate returns the config file Load reads: Options.File, else the
// --config flag in Options.Flags, else $QSEND_CONFIG, else DefaultFile if it
// exists, else "" (embedded defaults only). explicit is true when the file
// was named by the user; such a file must exist.
func Locate(opts Options) (path string, explicit bool) {
	return locate(opts, newEnviron(opts.Environ))
}

func locate(opts Options, env environ) (string, bool) {
	if opts.File != "" {
		return opts.File, true
	}
	if f := configFlag(opts.Flags); f != "" {
		return f, true
	}
	if f := env[envConfig]; f != "" {
		return f, true
	}
	def := opts.DefaultFile
	if def == "" {
		def = DefaultFile
	}
	// A default file that exists but cannot be examined is returned, so
	// that Load reports why instead of silently using the defaults.
	if _, err := os.Stat(def); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return def, false
	}
	return "", false
}
