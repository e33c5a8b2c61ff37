package config

import (
	"fmt"
	"io"
	"strings"
)

//go:generate go test -run TestReferenceIsCurrent -update .

// AppliedOnReload reports whether a SIGHUP applies a change of key at
// once; false for a key whose change waits for the next start (it shapes
// the queue file, the log, the listeners or the remote transport's
// connections) and for an unknown key.
func AppliedOnReload(key string) bool {
	k, ok := keyByName(key)
	return ok && k.reload
}

// referenceIntro is the part of the reference that is not about one key.
const referenceIntro = `# qsend configuration reference

This page is generated from the key table in config/keys.go (` + "`go generate ./config`" + `);
edit the table, not the page.

## Sources and precedence

Every command finds its configuration file the same way: ` + "`--config FILE`" + `, else
` + "`$QSEND_CONFIG`" + `, else ` + "`/etc/qsend/qsend.yaml`" + ` if it exists, else none. A named file that
does not exist is an error.

Each key's value comes from the highest of these sources that sets it, lowest first:

1. the embedded default;
2. the qmail control file of the same name in ` + "`control_dir`" + `, for the keys that are also
   qmail control files;
3. the YAML file;
4. the ` + "`QSEND_*`" + ` environment variable;
5. the flags: ` + "`--state-dir`, `--control-dir`, `--log-format`, `--log-level`" + `, and
   ` + "`--set KEY=VALUE`" + ` for any key (repeatable; the last one for a key wins).

A control file that a higher source overrides is not read. Every value from the file, the
environment and the flags is checked, even one that a higher source overrides. Every problem is
reported at once, each naming its file and line, variable or flag, and ` + "`qsend daemon`" + ` stops
before it touches ` + "`state_dir`" + `. ` + "`qsend config`" + ` prints every key's effective value and where it
came from.

## The file

The file is one YAML mapping; dotted keys are written nested:

    state_dir: /var/spool/qsend
    log:
      format: json
    smtpd:
      listen:
        - {address: "0.0.0.0:25", mode: smtp}
        - {address: "0.0.0.0:587", mode: submission}
    concurrencyremote: 100
    queuelifetime: 168h   # or 604800
    rcpthosts: [example.com, .example.com]

Unknown keys, duplicate keys, a key without a value and values of the wrong form are errors
naming the file and line. Lists are YAML lists; durations are Go durations (` + "`90s`, `168h`" + `)
or whole seconds.

## The environment and --set

The environment form of a key is ` + "`QSEND_`" + ` and the key upper-cased with ` + "`.`" + ` as ` + "`_`" + `:
` + "`QSEND_STATE_DIR`, `QSEND_LOG_FORMAT`, `QSEND_CONCURRENCYREMOTE`" + `. A ` + "`QSEND_*`" + ` variable that
names no key (other than ` + "`QSEND_CONFIG`" + `) is an error; an empty variable sets an empty value.
The environment and ` + "`--set`" + ` write values the same way:

- a list is separated by newlines when the value holds one (so
  ` + "`QSEND_SMTPROUTES=\"$(cat smtproutes)\"`" + ` works, with control-file rules for blank and ` + "`#`" + `
  lines), else by commas and white space;
- ` + "`smtpd.listen`" + ` is a list of ` + "`address=mode`" + ` entries, mode ` + "`smtp`" + ` when left out;
- a duration is a Go duration or whole seconds;
- ` + "`local.domains` and `tls.policy`" + `, lists of mappings, can only be set in the file.

## qmail control files

The keys that are also qmail control files are read from ` + "`control_dir`" + ` with qmail's rules
(control.c): the first line for a single value, trailing white space stripped, blank lines and
` + "`#`" + ` lines skipped in lists, a missing file meaning the default, any other read error fatal.
The defaults are qmail's (qmail-control(5)); the host names default to the effective ` + "`me`" + `,
whichever source set it, and ` + "`locals`" + ` to ` + "`[me]`" + `. Where qmail keeps the default for a file it
cannot parse, qsend refuses to start and names the file and line. ` + "`tlshosts/`, `notlshosts/`,\n`tlsclients`" + ` and the certificate files are read by the TLS code itself whenever they change,
so they have no keys.

## Reloading

SIGHUP loads the whole configuration again. If it does not load, the running configuration
stays and the log says why. Otherwise the keys marked "applied on reload" below take effect at
once (the SMTP server's new sessions get the new values); a change of any other key is logged
and waits for the next start.

## Keys
`

// Reference writes the configuration reference, docs/configuration.md:
// sources and precedence, the file and environment syntax, then every key
// with its default, its environment variable, whether a reload applies
// it, whether it is also a qmail control file, and its paragraph.
func Reference(w io.Writer) error {
	var b strings.Builder
	b.WriteString(referenceIntro)
	// Groups in the order of their first key, keys in table order.
	var groups []string
	byGroup := map[string][]*keyDef{}
	for i := range keys {
		g := keyGroup(&keys[i])
		if byGroup[g] == nil {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], &keys[i])
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "\n### %s\n", g)
		for _, k := range byGroup[g] {
			writeKey(&b, k)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeKey writes one key's entry of the reference.
func writeKey(b *strings.Builder, k *keyDef) {
	fmt.Fprintf(b, "\n#### `%s`\n\n%s\n\n", k.name, k.doc)
	fmt.Fprintf(b, "- Default: %s\n", referenceDefault(k))
	if vs := referenceValues(k); vs != "" {
		fmt.Fprintf(b, "- Values: %s\n", vs)
	}
	fmt.Fprintf(b, "- Environment: `%s`\n", envName(k.name))
	if k.reload {
		b.WriteString("- Reload: applied on reload\n")
	} else {
		b.WriteString("- Reload: at the next start\n")
	}
	if k.control {
		fmt.Fprintf(b, "- qmail control file: `control_dir/%s`\n", k.name)
	}
}

// keyGroup is the heading a key is listed under: the qmail control files,
// the part before the dot of a dotted key, or the general keys.
func keyGroup(k *keyDef) string {
	switch {
	case k.control:
		return "qmail control files"
	case strings.Contains(k.name, "."):
		section, _, _ := strings.Cut(k.name, ".")
		return "`" + section + "`"
	}
	return "General"
}

// referenceDefault describes k's default as `qsend config` would show it.
func referenceDefault(k *keyDef) string {
	switch {
	case k.name == "me":
		return "the host name"
	case k.me && k.kind == kList:
		return "`[me]`"
	case k.me:
		return "the effective `me`"
	case k.def == "" && (k.kind == kList || k.kind == kAddrList):
		return "none"
	}
	v, err := k.parseText(k.def)
	if err != nil {
		panic(fmt.Sprintf("config: default of %s: %v", k.name, err))
	}
	if s := formatValue(v); s != `""` && s != "[]" {
		return "`" + s + "`"
	}
	return "empty"
}

// referenceValues lists the words a key takes, "" for other keys.
func referenceValues(k *keyDef) string {
	prefix, ws := "", k.oneOf
	switch k.kind {
	case kOnOff:
		ws = []string{"on", "off"}
	case kLevel:
		ws = []string{"debug", "info", "warn", "error"}
	case kListeners:
		prefix, ws = "modes ", words(listenerModes)
	}
	if len(ws) == 0 {
		return ""
	}
	return prefix + "`" + strings.Join(ws, "`, `") + "`"
}
