// Package config builds qsend's effective configuration from its embedded
// defaults, the qmail control directory, a YAML file, QSEND_* environment
// variables and command-line flags, validates it, and remembers where each
// value came from so `qsend config` can show it.
package config

import (
	"errors"
	"log/slog"
	"time"

	"github.com/spf13/pflag"
)

// Listener is one SMTP listener of the daemon (smtpd.listen).
type Listener struct {
	Address string `json:"address"`
	Mode    string `json:"mode"` // smtp, submission or smtps
}

// Config is the effective configuration. The zero value is not useful; use
// Load.
type Config struct {
	File string // the YAML file that was read, "" if none

	StateDir   string // state_dir
	ControlDir string // control_dir
	AdminGroup string // admin_group: group whose members may read and change the queue

	LogFormat string     // log.format: text, json or qmail
	LogLevel  slog.Level // log.level

	StoreBatchDelay time.Duration // store.batch_delay: group-commit window

	DNSResolvers  []string   // dns.resolvers
	RemotePort    int        // remote.port
	SMTPDListen   []Listener // smtpd.listen
	MetricsListen string     // metrics.listen

	// Values with a qmail control file of the same name.
	Me                string
	DefaultDomain     string
	DefaultHost       string
	PlusDomain        string
	IDHost            string
	Locals            []string
	RcptHosts         []string // nil when neither file nor key exists
	MoreRcptHosts     []string
	VirtualDomains    []string // raw lines, parsed by the local router
	PercentHack       []string
	SMTPRoutes        []string // raw lines, parsed by the remote router
	HeloHost          string
	SMTPGreeting      string
	LocalIPHost       string
	TimeoutConnect    time.Duration
	TimeoutRemote     time.Duration
	TimeoutSMTPD      time.Duration
	DataBytes         int64
	QueueLifetime     time.Duration
	ConcurrencyLocal  int
	ConcurrencyRemote int
	BounceFrom        string
	BounceHost        string
	DoubleBounceTo    string
	DoubleBounceHost  string
	EnvNoAtHost       string
	BadMailFrom       []string
	BadRcptTo         []string
	BadHelo           []string
}

// Options say where Load looks.
type Options struct {
	// File is the --config flag's value; "" means QSEND_CONFIG, then
	// /etc/qsend/qsend.yaml if it exists.
	File string
	// Flags holds the flags added by AddFlags; only flags the user set count.
	Flags *pflag.FlagSet
	// Environ is the environment in os.Environ form; nil means os.Environ().
	Environ []string
	// UID decides the state_dir default; -1 means os.Getuid().
	UID int
}

// AddFlags registers the configuration flags on fs.
func AddFlags(fs *pflag.FlagSet) {}

// Load builds and validates the effective configuration.
func Load(opts Options) (*Config, error) { return nil, errors.New("config: not implemented") }
