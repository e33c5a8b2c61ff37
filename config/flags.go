package config

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// Flag names registered by AddFlags.
const (
	flagConfig = "config"
	flagSet    = "set"
)

// keyFlags are the flags that set one key each.
var keyFlags = []struct{ flag, key string }{
	{"state-dir", "state_dir"},
	{"control-dir", "control_dir"},
	{"log-format", "log.format"},
	{"log-level", "log.level"},
}

// AddFlags registers the configuration flags on fs: --config FILE,
// --state-dir, --control-dir, --log-format, --log-level, and the repeatable
// --set KEY=VALUE that sets any key (as postconf -o does for Postfix). Values
// use the environment syntax described in the package comment.
func AddFlags(fs *pflag.FlagSet) {
	fs.String(flagConfig, "", "configuration `file` (default $QSEND_CONFIG, else /etc/qsend/qsend.yaml if it exists)")
	fs.String("state-dir", "", "directory of the queue, maildrop and control socket (key state_dir)")
	fs.String("control-dir", "", "qmail control directory (key control_dir)")
	fs.String("log-format", "", "log format: text, json or qmail (key log.format)")
	fs.String("log-level", "", "log level: debug, info, warn or error (key log.level)")
	fs.StringArray(flagSet, nil, "set configuration `KEY=VALUE`; repeatable")
}

// flagLayer parses the flags the user set. A key set both by its own flag
// and by --set is an error; of several --set for one key the last wins.
func flagLayer(fs *pflag.FlagSet) (map[string]setting, []error) {
	out := map[string]setting{}
	if fs == nil {
		return out, nil
	}
	var errs []error
	for _, kf := range keyFlags {
		f := fs.Lookup(kf.flag)
		if f == nil || !f.Changed {
			continue
		}
		k, _ := keyByName(kf.key)
		where := "flag --" + kf.flag
		v, err := k.parseText(f.Value.String())
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			out[k.name] = setting{failed: true, origin: where}
			continue
		}
		out[k.name] = setting{val: v, origin: where, where: where}
	}
	f := fs.Lookup(flagSet)
	if f == nil || !f.Changed {
		return out, errs
	}
	sets, err := fs.GetStringArray(flagSet)
	if err != nil {
		return out, append(errs, fmt.Errorf("flag --set: %w", err))
	}
	for _, kv := range sets {
		name, val, ok := strings.Cut(kv, "=")
		where := "flag --set " + name
		k, known := keyByName(name)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("flag --set %q: want KEY=VALUE", kv))
			continue
		case !known:
			errs = append(errs, fmt.Errorf("%s: unknown key", where))
			continue
		}
		if prev, dup := out[k.name]; dup && !strings.HasPrefix(prev.origin, "flag --set ") {
			errs = append(errs, fmt.Errorf("%s: also set by %s", where, prev.origin))
			continue
		}
		v, err := k.parseText(val)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			out[k.name] = setting{failed: true, origin: where}
			continue
		}
		out[k.name] = setting{val: v, origin: where, where: where}
	}
	return out, errs
}

// configFlag returns the --config flag's value if the user set it.
func configFlag(fs *pflag.FlagSet) string {
	if fs == nil {
		return ""
	}
	if f := fs.Lookup(flagConfig); f != nil && f.Changed {
		return f.Value.String()
	}
	return ""
}
