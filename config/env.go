package config

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// envConfig is the variable naming the config file; it is the one QSEND_*
// variable that is not a key.
const envConfig = "QSEND_CONFIG"

// environ is the environment as a map. As with os.Getenv, the first of
// several entries for one name wins.
type environ map[string]string

func newEnviron(list []string) environ {
	if list == nil {
		list = os.Environ()
	}
	env := environ{}
	for _, kv := range list {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if _, dup := env[name]; !dup {
			env[name] = val
		}
	}
	return env
}

// envLayer parses the QSEND_* variables. A variable that names no key is an
// error, so that a misspelt one is not silently ignored.
func envLayer(env environ) (map[string]setting, []error) {
	byEnv := map[string]*keyDef{}
	for i := range keys {
		byEnv[envName(keys[i].name)] = &keys[i]
	}
	out := map[string]setting{}
	var errs []error
	for _, name := range sortedNames(env) {
		if !strings.HasPrefix(name, "QSEND_") || name == envConfig {
			continue
		}
		k, ok := byEnv[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown variable (no such key)", name))
			continue
		}
		v, err := k.parseText(env[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			out[k.name] = setting{failed: true}
			continue
		}
		out[k.name] = setting{val: v, origin: "environment " + name, where: name}
	}
	return out, errs
}

// sortedNames returns the names of env in order, for errors in a stable
// order.
func sortedNames(env environ) []string {
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
