package setup

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/delivery/remote"
	"github.com/qsend/qsend/delivery/smtpclient"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/tls/certfile"
	"github.com/qsend/qsend/tls/ciphers"
	"github.com/qsend/qsend/tls/mtasts"
	"github.com/qsend/qsend/tls/policy"
)

// TLSPolicy builds the outbound TLS policy engine from the configuration:
// qmail-tls's files in control_dir, the tls.policy table, the default
// level and minimum version, clientcert.pem and tlsclientciphers. Every
// error names the key or file at fault, and stops the daemon before it
// touches the queue.
func TLSPolicy(cfg *config.Config, log *slog.Logger) (*policy.Engine, error) {
	o := policy.Options{ControlDir: cfg.ControlDir, ClientCert: cfg.TLSClientCert, Logger: log, Table: map[string]policy.Rule{}}
	var err error
	// An empty level (a Config not made by config.Load) leaves policy's
	// default, may.
	if cfg.TLSDefaultLevel != "" {
		if o.Default, err = policy.ParseLevel(string(cfg.TLSDefaultLevel)); err != nil {
			return nil, fmt.Errorf("tls.default_level (%s): %w", cfg.Origin("tls.default_level"), err)
		}
	}
	if o.MinVersion, err = ciphers.ParseVersion(string(cfg.TLSMinVersion)); err != nil {
		return nil, fmt.Errorf("tls.min_version (%s): %w", cfg.Origin("tls.min_version"), err)
	}
	// qmail-tls qmail-remote.c tls_init(): the lines of tlsclientciphers joined with ":".
	if o.ClientCiphers, err = ciphers.Parse(strings.Join(cfg.TLSClientCiphers, ":")); err != nil {
		return nil, fmt.Errorf("tlsclientciphers (%s): %w", cfg.Origin("tlsclientciphers"), err)
	}
	for _, r := range cfg.TLSPolicy {
		rule, err := policy.CompileRule(r.Destination, policy.RuleSpec{Level: string(r.Level), CAFile: r.CAFile, MinVersion: string(r.MinVersion),
			Ciphers: r.Ciphers, ServerName: r.ServerName, Match: r.Match, Pins: r.Pins})
		if err != nil {
			return nil, fmt.Errorf("%w (%s)", err, cfg.Origin("tls.policy"))
		}
		o.Table[r.Destination] = rule
	}
	if cfg.TLSMTASTSCA != "" {
		// The same CAs verify certificates under MTA-STS and the table's
		// verify and secure levels without a ca_file.
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		certs, err := certfile.LoadCerts(cfg.TLSMTASTSCA)
		if err != nil {
			return nil, fmt.Errorf("tls.mta_sts_ca (%s): %w", cfg.Origin("tls.mta_sts_ca"), err)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
		o.RootCAs = pool
	}
	return policy.New(o)
}

// Remote builds remote delivery's options as the daemon runs it: the
// resolver r, the TLS policy engine e, DANE, and the MTA-STS resolver,
// which is also returned (nil when tls.mta_sts is off) for its owner to run
// its refresh loop; MTA-STS policies are kept in cache.
func Remote(cfg *config.Config, r *mx.Resolver, e *policy.Engine, cache mtasts.Cache, log *slog.Logger) (remote.Options, *mtasts.Resolver, error) {
	sts, err := stsResolver(cfg, r, cache, log)
	if err != nil {
		return remote.Options{}, nil, err
	}
	return remoteOptions(cfg, r, remoteTLS(cfg, e, sts), log), sts, nil
}

// stsResolver builds the MTA-STS resolver, nil when tls.mta_sts is off:
// TXT records and the policy host's addresses come from the configured
// DNS resolvers, policies are kept in cache (the daemon's is the queue
// file; `qsend tls-probe` uses an mtasts.MemoryCache).
func stsResolver(cfg *config.Config, r *mx.Resolver, cache mtasts.Cache, log *slog.Logger) (*mtasts.Resolver, error) {
	if !cfg.TLSMTASTS {
		return nil, nil
	}
	o := mtasts.Options{TXT: r.TXT, Cache: cache, Logger: log}
	if cfg.TLSMTASTSCA != "" {
		certs, err := certfile.LoadCerts(cfg.TLSMTASTSCA)
		if err != nil {
			return nil, fmt.Errorf("tls.mta_sts_ca (%s): %w", cfg.Origin("tls.mta_sts_ca"), err)
		}
		o.RootCAs = certs
	}
	o.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := r.Addrs(ctx, host)
		if err != nil {
			return nil, err
		}
		var d net.Dialer
		var last error
		for _, ip := range ips {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
	return mtasts.New(o)
}

// remoteTLS maps the configuration onto remote delivery's TLS options.
func remoteTLS(cfg *config.Config, e *policy.Engine, sts *mtasts.Resolver) remote.TLSOptions {
	return remote.TLSOptions{Policy: e, STS: sts, DANE: cfg.TLSDANE,
		PlaintextAfter: cfg.TLSPlaintextAfter, RememberBroken: cfg.TLSRememberBroken}
}

// Resolver builds the DNS resolver and smtproutes router of remote
// delivery; a malformed smtproutes entry is a configuration error.
func Resolver(cfg *config.Config) (*mx.Resolver, error) {
	routes, err := mx.ParseRoutes(cfg.SMTPRoutes)
	if err != nil {
		return nil, fmt.Errorf("smtproutes (%s): %w", cfg.Origin("smtproutes"), err)
	}
	trusted, err := trustedResolvers(cfg)
	if err != nil {
		return nil, err
	}
	return mx.New(mx.Options{Resolvers: cfg.DNSResolvers, Me: cfg.Me, Routes: routes, TrustedResolvers: trusted})
}

// remoteOptions maps the configuration onto remote delivery's options;
// tlsOpts says how STARTTLS is used (remoteTLS).
func remoteOptions(cfg *config.Config, r *mx.Resolver, tlsOpts remote.TLSOptions, log *slog.Logger) remote.Options {
	return remote.Options{
		Resolver: r,
		Port:     cfg.RemotePort,
		TLS:      tlsOpts,
		Client: smtpclient.Options{
			HeloHost:       cfg.HeloHost,
			ConnectTimeout: cfg.TimeoutConnect,
			Timeout:        cfg.TimeoutRemote,
			Phases: smtpclient.Phases{
				Helo:        cfg.RemoteHeloTimeout,
				StartTLS:    cfg.RemoteStartTLSTimeout,
				Mail:        cfg.RemoteMailTimeout,
				Rcpt:        cfg.RemoteRcptTimeout,
				DataInit:    cfg.RemoteDataInitTimeout,
				DataXfer:    cfg.RemoteDataXferTimeout,
				MinDataRate: int64(cfg.RemoteMinDataRate),
				DataDone:    cfg.RemoteDataDoneTimeout,
				Session:     cfg.RemoteSessionTimeout,
			},
		},
		Sessions:       cfg.ConcurrencyRemote,
		PerDestination: perDestination(cfg),
		MaxWaiting:     remoteInProgress(cfg) * 3 / 4,
		Logger:         log,
	}
}

// perDestination is the session limit of one destination:
// remote.destination_concurrency capped by concurrencyremote and, when it
// was not set, by remote.FairShare of concurrencyremote.
func perDestination(cfg *config.Config) int {
	n := min(cfg.RemoteDestinationConcurrency, max(cfg.ConcurrencyRemote, 1))
	if cfg.Origin("remote.destination_concurrency") == "default" {
		n = min(n, remote.FairShare(cfg.ConcurrencyRemote))
	}
	return n
}

// trustedResolvers parses dns.trusted_resolvers (host:port or a bare
// address) into addresses.
func trustedResolvers(cfg *config.Config) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range cfg.DNSTrustedResolvers {
		host := s
		if h, _, err := net.SplitHostPort(s); err == nil {
			host = h
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			return nil, fmt.Errorf("dns.trusted_resolvers (%s): %q is not an IP address", cfg.Origin("dns.trusted_resolvers"), s)
		}
		out = append(out, a)
	}
	return out, nil
}
