package setup

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/delivery/bounce"
	"github.com/qsend/qsend/delivery/local"
	"github.com/qsend/qsend/delivery/rewrite"
)

// Rules are qmail-send's rewrite rules (delivery/rewrite) from locals,
// virtualdomains, percenthack and envnoathost.
func Rules(cfg *config.Config) (*rewrite.Rules, error) {
	return rewrite.New(cfg.EnvNoAtHost, cfg.Locals, cfg.PercentHack, cfg.VirtualDomains)
}

// Router is qmail-send's choice between the local and the remote channel
// for a recipient.
func Router(cfg *config.Config) (func(addr string) delivery.Channel, error) {
	rules, err := Rules(cfg)
	if err != nil {
		return nil, err
	}
	return Route(rules), nil
}

// Route is the channel choice of rules: local when qmail-send's rewrite
// says so (qmail-send.c rewrite()), else remote.
func Route(rules *rewrite.Rules) func(addr string) delivery.Channel {
	return func(addr string) delivery.Channel {
		if isLocal, _ := rules.Rewrite(addr); isLocal {
			return delivery.Local
		}
		return delivery.Remote
	}
}

// LocalOptions maps the configuration onto local delivery's options.
func LocalOptions(cfg *config.Config, rules *rewrite.Rules, log *slog.Logger) local.Options {
	method := func(t config.LocalTransport, maildir, lmtp string, cmd []string, user string) local.Method {
		return local.Method{Kind: localKind(t), Maildir: maildir, LMTP: lmtp, Command: cmd, User: user}
	}
	domains := make(map[string]local.Method, len(cfg.LocalDomains))
	for _, d := range cfg.LocalDomains {
		domains[d.Domain] = method(d.Transport, d.Maildir, d.LMTP, d.Command, d.User)
	}
	return local.Options{
		Rewrite: rules,
		Me:      cfg.Me,
		Logger:  log,
		Default: method(cfg.LocalTransport, cfg.LocalMaildir, cfg.LocalLMTP, cfg.LocalCommand, cfg.LocalUser),
		Domains: domains,
	}
}

// localKind is local delivery's name of a transport; "" (a Config not
// made by config.Load) leaves local delivery's default.
func localKind(t config.LocalTransport) string {
	switch t {
	case config.TransportMaildir:
		return local.KindMaildir
	case config.TransportLMTP:
		return local.KindLMTP
	case config.TransportCommand:
		return local.KindCommand
	}
	return string(t)
}

// Retry is the retry schedule of retry.schedule: qmail-send's
// (qmail-send.c nextretry()) unless exponential is chosen.
func Retry(cfg *config.Config) (func(delivery.Deferral) time.Time, error) {
	schedule := delivery.ScheduleQmail
	if cfg.RetrySchedule == config.RetryExponential {
		schedule = delivery.ScheduleExponential
	}
	retry, err := delivery.RetryFunc(schedule, cfg.RetryInitial, cfg.RetryMax, cfg.RetryJitter)
	if err != nil {
		return nil, fmt.Errorf("retry (%s): %w", cfg.Origin("retry.max"), err)
	}
	return retry, nil
}

// SchedulerOptions maps the configuration onto the scheduler's options:
// limits, lifetimes and bounce settings. The caller adds the store, the
// transports, the route and the retry schedule.
func SchedulerOptions(cfg *config.Config) delivery.Options {
	format := bounce.FormatQmail
	if cfg.BounceFormat == config.BounceDSN {
		format = bounce.FormatDSN
	}
	return delivery.Options{
		ConcurrencyRemote: remoteInProgress(cfg),
		ConcurrencyLocal:  cfg.ConcurrencyLocal,
		QueueLifetime:     cfg.QueueLifetime,
		BounceTLSOnExpiry: cfg.TLSOnExpiry == config.ExpiryBounce,
		DelayWarning:      cfg.DelayWarning,
		Bounce: delivery.BounceSettings{
			BounceFrom:       cfg.BounceFrom,
			BounceHost:       cfg.BounceHost,
			DoubleBounceTo:   cfg.DoubleBounceTo,
			DoubleBounceHost: cfg.DoubleBounceHost,
			Format:           format,
			MaxBody:          cfg.BounceMaxBody,
		},
	}
}

// remoteInProgress is how many remote messages the scheduler keeps in
// progress: concurrencyremote bounds the SMTP sessions (qmail's remote
// deliveries at once), and four times as many messages in progress keep
// every session busy while others wait for theirs.
func remoteInProgress(cfg *config.Config) int { return 4 * cfg.ConcurrencyRemote }
