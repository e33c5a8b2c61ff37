// Package config builds qsend's effective configuration from its embedded
// defaults, the qmail control directory, a YAML file, QSEND_* environment
// variables and command-line flags, validates it, and remembers where each
// value came from so `qsend config` can show it.
//
// # Precedence
//
// From lowest to highest: the embedded default, the qmail control file of
// the same name in control_dir, the YAML file, the QSEND_* variable, the
// flag. A value set in YAML or the environment overrides the control file;
// a control file that is overridden is not read at all. Every value from the
// YAML file, the environment and the flags is checked, even one that a
// higher source overrides.
//
// # The file
//
// Load reads the file named by --config (Options.File, or the flag in
// Options.Flags), else by $QSEND_CONFIG, else /etc/qsend/qsend.yaml if it
// exists; with none it uses the defaults. A named file that does not exist
// is an error. The file is one YAML mapping; dotted keys are nested:
//
//	state_dir: /var/spool/qsend
//	log:
//	  format: json
//	smtpd:
//	  listen:
//	    - {address: "0.0.0.0:25", mode: smtp}
//	    - {address: "0.0.0.0:587", mode: submission}
//	concurrencyremote: 100
//	queuelifetime: 168h   # or 604800
//	rcpthosts: [example.com, .example.com]
//
// Unknown keys, duplicate keys, a key without a value ("key:") and values
// of the wrong form are errors naming the file and line. Lists are YAML
// lists; durations are Go durations ("90s", "168h") or whole seconds.
//
// # Environment and --set
//
// Each key has a variable QSEND_ + the key upper-cased with "." as "_":
// QSEND_STATE_DIR, QSEND_LOG_FORMAT, QSEND_CONCURRENCYREMOTE. A QSEND_*
// variable that names no key (other than QSEND_CONFIG) is an error. An empty
// variable sets an empty value. The flag --set KEY=VALUE (repeatable; the
// last one for a key wins) and the flags --state-dir, --control-dir,
// --log-format and --log-level take values in the same syntax:
//
//   - a list is separated by newlines if the value holds one (so
//     QSEND_SMTPROUTES="$(cat smtproutes)" works, with control-file rules for
//     blank and '#' lines), else by commas and white space:
//     QSEND_DNS_RESOLVERS="192.0.2.53:53, [2001:db8::53]:53";
//   - smtpd.listen is a list of address=mode entries, mode smtp when left
//     out: QSEND_SMTPD_LISTEN="0.0.0.0:25=smtp,0.0.0.0:587=submission";
//   - a duration is a Go duration or whole seconds;
//   - local.domains, a list of mappings, can only be set in the file:
//     each entry is {domain, transport (maildir, lmtp or command; default
//     maildir), maildir (default local.maildir), lmtp (unix:/path or
//     host:port), command (an argv list), user (default local.user)}. local.transport lmtp needs
//     local.lmtp, and command needs local.command.
//
// # qmail control files
//
// Every qmail control value has a key named like its file (me, locals,
// rcpthosts, concurrencyremote, ...) and is read with qmail's rules by the
// control sub-package (control.c, qmail-control.5). The defaults are qmail's;
// defaultdomain, defaulthost, plusdomain, idhost, helohost, smtpgreeting,
// localiphost, bouncehost, doublebouncehost and envnoathost default to the
// effective me, whichever source set it, and locals to [me]. An empty first
// line of doublebounceto gives an empty local part, as in qmail (qmail-send.8). A
// missing control directory means no control files.
//
// qsend deviates from qmail on purpose where qmail fails silently:
//
//   - Without control/me qmail refuses to start; qsend uses the host name
//     (os.Hostname, which may be unqualified; set me when it is). An empty
//     me is an error.
//   - qmail keeps the default when a number file is not a number
//     (scan_ulong); qsend refuses to start and names the file and line:
//     /var/qmail/control/concurrencyremote:1: not a number: "abc".
//   - Values out of range are errors: concurrencylocal and
//     concurrencyremote 0..65535 (0 holds the channel, as in qmail; qmail
//     caps remote deliveries at 255), timeouts at least 1s, queuelifetime at
//     least 0.
//   - No value may contain a control character other than tab.
//   - morercpthosts is read as a text file; qmail-smtpd reads only
//     morercpthosts.cdb, built from it by qmail-newmrh.
//
// # Provenance and reloading
//
// Config.Settings and Config.Write list every value with its origin
// ("default", "default (me)", "control file /var/qmail/control/me:1",
// "config file /etc/qsend/qsend.yaml:12", "environment QSEND_STATE_DIR",
// "flag --set concurrencyremote"). Load has no side effects beyond reading
// the file and the control directory, so the daemon reloads on SIGHUP by
// calling it again, keeping the old Config on error and logging Diff. Each
// key says whether a reload applies it (AppliedOnReload); a change of the
// others waits for the next start.
//
// # Typed values and the reference
//
// A key that takes one of a few words is decoded at load into a type of its
// own (LogFormat, RetrySchedule, TLSLevel, ListenerMode, ...), and an on/off
// key into a bool, so code that uses a Config compares constants, never
// texts; `qsend config` still shows the words. Every key's entry in the key
// table carries a paragraph, from which Reference writes the configuration
// reference, docs/configuration.md (go generate ./config).
package config
