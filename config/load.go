package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/qsend/qsend/config/control"
)

// Load builds and validates the effective configuration: embedded defaults,
// then the qmail control files in control_dir, then the YAML file (see
// Locate), then QSEND_* variables, then the flags the user set, each
// overriding the ones before. The error lists every problem found, one per
// line, each naming its file and line, variable or flag.
//
// Load reads only the config file and the control directory and keeps no
// state, so the daemon can call it again on SIGHUP and keep the old Config
// when it fails.
func Load(opts Options) (*Config, error) {
	env := newEnviron(opts.Environ)
	// A default file that Locate returns exists; a named one must.
	path, _ := locate(opts, env)
	var data []byte
	if path != "" {
		var err error
		data, err = os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
	}
	return load(opts, env, path, data)
}

// load builds the configuration from the config file's contents.
func load(opts Options, env environ, path string, data []byte) (*Config, error) {
	var errs []error
	var layers []map[string]setting // in rising precedence
	if path != "" {
		l, e := yamlLayer(path, data)
		layers, errs = append(layers, l), append(errs, e...)
	}
	l, e := envLayer(env)
	layers, errs = append(layers, l), append(errs, e...)
	l, e = flagLayer(opts.Flags)
	layers, errs = append(layers, l), append(errs, e...)

	c := &Config{File: path, origins: map[string]string{}}
	failed := map[string]bool{}
	// Table order puts control_dir before the control keys and me before
	// the keys whose default is me.
	for i := range keys {
		k := &keys[i]
		s, ok := top(layers, k.name)
		if !ok && k.control && !failed["control_dir"] {
			var err error
			s, ok, err = readControl(c.ControlDir, k)
			if err != nil {
				errs = append(errs, err)
				s.failed = true
			}
		}
		if !ok {
			var err error
			s, err = defaultSetting(k, c, opts, env, failed["me"])
			if err != nil {
				errs = append(errs, err)
				s.failed = true
			}
		}
		if s.failed {
			failed[k.name] = true
			continue
		}
		k.set(c, s.val)
		c.origins[k.name] = s.origin
		// qmail accepts an empty me (control.c); with it every host
		// default would be empty, so qsend refuses it.
		if k.name == "me" && c.Me == "" {
			errs = append(errs, fmt.Errorf("%s: me must not be empty", s.where))
		}
	}
	errs = append(errs, checkLocal(c, failed)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// top returns the setting of the highest layer that sets name.
func top(layers []map[string]setting, name string) (setting, bool) {
	for i := len(layers) - 1; i >= 0; i-- {
		if s, ok := layers[i][name]; ok {
			return s, true
		}
	}
	return setting{}, false
}

// readControl reads the control file of key k from dir with qmail's rules
// (control.c, qmail-control.5). ok is false when the file does not exist.
func readControl(dir string, k *keyDef) (s setting, ok bool, err error) {
	switch k.kind {
	case kList:
		lines, ok, err := control.ReadLines(dir, k.name)
		if !ok || err != nil {
			return setting{}, false, err
		}
		list := make([]string, len(lines))
		for i, l := range lines {
			if err := k.check([]string{l.Text}); err != nil {
				return setting{}, true, &control.Error{Path: l.Path, Line: l.Num, Err: err}
			}
			list[i] = l.Text
		}
		path := filepath.Join(dir, k.name)
		return setting{val: list, origin: "control file " + path, where: path}, true, nil
	}
	line, ok, err := control.ReadFirst(dir, k.name)
	if !ok || err != nil {
		return setting{}, false, err
	}
	var v any = line.Text
	switch k.kind {
	case kInt, kSeconds:
		n, err := control.ParseNumber(line.Text)
		if err != nil {
			return setting{}, true, &control.Error{Path: line.Path, Line: line.Num, Err: err}
		}
		v = n
		if k.kind == kSeconds {
			// Control files hold whole seconds (control.c control_readint()).
			if v, err = secondsDuration(n); err != nil {
				return setting{}, true, &control.Error{Path: line.Path, Line: line.Num, Err: err}
			}
		}
	}
	if err := k.check(v); err != nil {
		return setting{}, true, &control.Error{Path: line.Path, Line: line.Num, Err: err}
	}
	return setting{val: v, origin: "control file " + line.Pos(), where: line.Pos()}, true, nil
}

// defaultSetting returns the default of k. The keys defaulting to me use
// c.Me, which must already be set unless meFailed.
func defaultSetting(k *keyDef, c *Config, opts Options, env environ, meFailed bool) (setting, error) {
	switch {
	case k.name == "me":
		// qmail refuses to start without control/me; qsend falls back to
		// the host name (see the package comment).
		name := opts.Hostname
		if name == "" {
			var err error
			if name, err = os.Hostname(); err != nil {
				return setting{}, fmt.Errorf("me: no %s and no host name: %w", filepath.Join(c.ControlDir, "me"), err)
			}
		}
		if err := k.check(name); err != nil {
			return setting{}, fmt.Errorf("me: host name %q: %w", name, err)
		}
		return setting{val: name, origin: "default (hostname)", where: "me (host name)"}, nil
	case k.me && meFailed:
		return setting{failed: true}, nil
	case k.me && k.kind == kList:
		// qmail-control.5: locals defaults to me.
		return setting{val: []string{c.Me}, origin: "default (me)"}, nil
	case k.me:
		return setting{val: c.Me, origin: "default (me)"}, nil
	case k.def == "" && (k.kind == kList || k.kind == kAddrList):
		// Absent, not empty: an absent rcpthosts is not an empty one.
		return setting{val: []string(nil), origin: "default"}, nil
	}
	v, err := k.parseText(k.def)
	if err != nil {
		panic(fmt.Sprintf("config: default of %s: %v", k.name, err))
	}
	return setting{val: v, origin: "default"}, nil
}
