package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/qsend/qsend/delivery/remote"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/setup"
	"github.com/qsend/qsend/tls/mtasts"
)

// tlsProbeCmd is `qsend tls-probe DOMAIN`, the posttls-finger of qsend
// (STYLE.md: operators' tools come with the server): it asks remote
// delivery, configured as the daemon configures it, what it would do with
// mail for DOMAIN, and prints the answer server by server.
func (a *app) tlsProbeCmd() *cobra.Command {
	var (
		asJSON  bool
		port    int
		timeout time.Duration
	)
	c := &cobra.Command{
		Use:   "tls-probe DOMAIN",
		Short: "Show, for each MX of DOMAIN, STARTTLS, TLS, the certificate chain, the TLS policy and what delivery would do",
		Long: `tls-probe resolves the MX hosts of DOMAIN as remote delivery does, applies the
outbound TLS policy (tlshosts, notlshosts, exhaustivelist, tls.policy, DANE,
MTA-STS, tls.default_level), connects to every address, says EHLO, starts TLS
as the policy would and QUITs: no mail is sent. For each server it prints
whether STARTTLS is offered, the TLS version and cipher, the certificate chain,
the policy and where it came from, the policy's verdict on the certificate,
and what qsend would do: deliver, or defer with the text the queue would show.

Exit status: 0 when every server would take the mail, 1 otherwise, 2 for a
usage or configuration error.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 || args[0] == "" {
				return exitf(2, "usage: qsend tls-probe DOMAIN [--json] [--port N]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("port") && (port < 1 || port > 65535) {
				return exitf(2, "tls-probe: --port %d: want 1 to 65535", port)
			}
			if timeout <= 0 {
				return exitf(2, "tls-probe: --timeout %v: want a positive duration", timeout)
			}
			tr, err := a.probeTransport(port, timeout)
			if err != nil {
				return err
			}
			defer tr.Close()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := tr.Probe(ctx, args[0])
			if err != nil {
				return a.probeFailed(args[0], err, asJSON)
			}
			if asJSON {
				err = writeProbeJSON(a.stdout, rep)
			} else {
				err = writeProbe(a.stdout, rep)
			}
			if err != nil {
				return exitf(1, "tls-probe: %v", err)
			}
			if !rep.Deliverable() {
				return exitf(1, "")
			}
			return nil
		},
	}
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitf(2, "tls-probe: %v", err) })
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per server")
	c.Flags().IntVar(&port, "port", 0, "the SMTP port of MX hosts (default remote.port; an smtproutes port still wins)")
	c.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "bound on connecting and on each read and write, when shorter than timeoutconnect and timeoutremote")
	return c
}

// probeTransport builds remote delivery from the configuration as the
// daemon does (setup.Resolver, TLSPolicy and Remote),
// with MTA-STS policies kept in memory: the daemon owns the queue file.
func (a *app) probeTransport(port int, timeout time.Duration) (*remote.Transport, error) {
	cfg, _, err := a.loadConfig()
	if err != nil {
		return nil, exitf(2, "configuration: %v", err)
	}
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	log, err := setup.Logger(a.stderr, cfg.LogFormat, level)
	if err != nil {
		return nil, exitf(2, "configuration: %v", err)
	}
	r, err := setup.Resolver(cfg)
	if err != nil {
		return nil, exitf(2, "configuration: %v", err)
	}
	eng, err := setup.TLSPolicy(cfg, log)
	if err != nil {
		return nil, exitf(2, "configuration: %v", err)
	}
	o, _, err := setup.Remote(cfg, r, eng, &mtasts.MemoryCache{}, log)
	if err != nil {
		return nil, exitf(2, "configuration: %v", err)
	}
	if port != 0 {
		o.Port = port
	}
	if o.Client.ConnectTimeout <= 0 || o.Client.ConnectTimeout > timeout {
		o.Client.ConnectTimeout = timeout
	}
	if o.Client.Timeout <= 0 || o.Client.Timeout > timeout {
		o.Client.Timeout = timeout
	}
	return remote.New(o), nil
}

// probeFailed reports a domain that could not be planned: what delivery
// would do with it (defer or bounce, with qmail-remote's text), exit 1.
func (a *app) probeFailed(domain string, err error, asJSON bool) error {
	action := "defer: " + err.Error()
	var me *mx.Error
	if errors.As(err, &me) {
		action = "defer: " + me.Text
		if !me.Temporary {
			action = "bounce: " + me.Text
		}
	}
	if asJSON {
		b, _ := json.Marshal(struct {
			Domain string `json:"domain"`
			Action string `json:"action"`
		}{domain, action})
		fmt.Fprintf(a.stdout, "%s\n", b)
	} else {
		fmt.Fprintf(a.stdout, "%s\n  action:   %s\n", domain, action)
	}
	return exitf(1, "")
}

// probeLine is one line of `tls-probe --json`: a server, with the domain's
// part of the report.
type probeLine struct {
	Domain string           `json:"domain"`
	Route  string           `json:"route,omitempty"`
	STS    *remote.ProbeSTS `json:"mta_sts,omitempty"`
	remote.ProbeHost
}

func writeProbeJSON(w io.Writer, rep remote.ProbeReport) error {
	enc := json.NewEncoder(w)
	for _, h := range rep.Hosts {
		if err := enc.Encode(probeLine{Domain: rep.Domain, Route: rep.Route, STS: rep.STS, ProbeHost: h}); err != nil {
			return err
		}
	}
	return nil
}

// writeProbe prints the report for people: the domain, then one block per
// server.
func writeProbe(w io.Writer, rep remote.ProbeReport) error {
	p := &printer{w: w}
	p.line("%s, port %d", rep.Domain, rep.Port)
	if rep.Route != "" {
		p.line("  route:    smtproutes %s", rep.Route)
	}
	if s := rep.STS; s != nil {
		switch {
		case s.Mode == "":
			p.line("  MTA-STS:  no policy (%s)", s.Error)
		default:
			used := "applied"
			if !s.Applied {
				used = "not applied"
			}
			p.line("  MTA-STS:  %s, mx %s (%s, %s)", s.Mode, strings.Join(s.MX, " "), s.Source, used)
			if s.Error != "" {
				p.line("            %s", s.Error)
			}
		}
	}
	for _, h := range rep.Hosts {
		p.line("")
		name := h.Host
		if name == "" {
			name = "(address literal)"
		}
		p.line("%s %s, preference %d", name, h.Addr, h.Pref)
		p.line("  policy:   %s, from %s", h.Level, h.Source)
		if h.STSMode != "" {
			p.line("  MTA-STS:  %s", h.STSMode)
		}
		for _, r := range h.TLSA {
			p.line("  TLSA:     %s", r)
		}
		for _, r := range h.TLSAUnusable {
			p.line("  TLSA:     %s (ignored)", r)
		}
		if h.PolicyError != "" {
			p.text("  policy failure: ", h.PolicyError)
		}
		switch {
		case !h.Connected:
			p.line("  connect:  failed: %s", h.Error)
		case h.ImplicitTLS:
			p.line("  SMTPS:    TLS before the greeting")
		case h.StartTLSRefused != "":
			p.text("  STARTTLS: offered, refused: ", h.StartTLSRefused)
		case h.StartTLSOffered:
			p.line("  STARTTLS: offered")
		default:
			p.line("  STARTTLS: not offered")
		}
		switch {
		case h.TLS:
			p.line("  TLS:      %s %s", h.Version, h.Cipher)
		case h.Connected && h.Error != "" && h.Class == "failed":
			p.text("  TLS:      failed: ", h.Error)
		case h.Connected && h.Error != "":
			p.text("  error:    ", h.Error)
		}
		for i, c := range h.Chain {
			p.line("  cert %d:   subject %s", i, c.Subject)
			p.line("            issuer  %s", c.Issuer)
			if names := append(append([]string(nil), c.DNSNames...), c.IPs...); len(names) > 0 {
				p.line("            names   %s", strings.Join(names, " "))
			}
			p.line("            valid   %s to %s", c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
			p.line("            %s", c.SHA256)
			p.line("            %s", c.SPKISHA256)
		}
		p.text("  verdict:  ", h.Verdict)
		if h.Class != "" {
			p.line("  session:  %s", h.Class)
		}
		p.text("  action:   ", h.Action)
		for _, n := range h.Notes {
			p.text("  note:     ", n)
		}
	}
	return p.err
}

// printer writes lines and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

// text writes a possibly multi-line text after label, its further lines
// indented under the first.
func (p *printer) text(label, s string) {
	indent := "\n" + strings.Repeat(" ", len(label))
	p.line("%s%s", label, strings.ReplaceAll(s, "\n", indent))
}
