package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// collector exports the daemon's counters to Prometheus when scraped: it
// reads the store's, the scheduler's and the remote transport's own
// counters, so no package keeps metric state of its own.
type collector struct {
	d *Daemon

	messages, held, recipients, bytes *prometheus.Desc
	inFlight, limit, deliveries       *prometheus.Desc
	tlsHeld                           *prometheus.Desc
	results, connections, reused      *prometheus.Desc
	tlsSessions                       *prometheus.Desc
	damaged                           *prometheus.Desc
	dkimSigned, dkimFailures          *prometheus.Desc
}

func newCollector(d *Daemon) *collector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("qsend_"+name, help, labels, nil)
	}
	return &collector{
		d:            d,
		messages:     desc("queue_messages", "Messages in the queue."),
		held:         desc("queue_held_messages", "Messages held by the administrator."),
		recipients:   desc("queue_recipients", "Recipients not yet delivered or failed."),
		bytes:        desc("queue_bytes", "Bytes of message bodies in the queue."),
		inFlight:     desc("deliveries_in_progress", "Messages being delivered, by channel.", "channel"),
		limit:        desc("deliveries_limit", "Messages the scheduler keeps in progress, by channel.", "channel"),
		deliveries:   desc("deliveries_started_total", "Deliveries started since the daemon started, one per recipient."),
		tlsHeld:      desc("tls_expiry_held_total", "Messages held at the end of their queue lifetime because their TLS policy could not be met."),
		results:      desc("remote_results_total", "Remote delivery results by state (delivered, deferred, failed, waited) and where they were decided.", "state", "reason"),
		connections:  desc("remote_connections_total", "SMTP connections opened."),
		tlsSessions:  desc("remote_tls_sessions_total", "New SMTP sessions by what their TLS proved (verified, unverified, plain, failed) and the policy level in force.", "class", "level"),
		reused:       desc("remote_connections_reused_total", "Messages sent on a reused SMTP connection."),
		dkimSigned:   desc("dkim_signed_total", "Messages DKIM-signed at intake, by signing domain (d=).", "domain"),
		dkimFailures: desc("dkim_failures_total", "Messages that went out unsigned because DKIM signing failed."),
		damaged:      desc("queue_damage_found", "Problems the start-up checks found in the queue file: damaged meta pages and records that do not decode (qsend queue check lists them)."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.messages, c.held, c.recipients, c.bytes, c.inFlight, c.limit, c.deliveries, c.tlsHeld, c.results, c.connections, c.reused, c.tlsSessions, c.damaged, c.dkimSigned, c.dkimFailures} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if st, err := c.d.store.Stats(); err == nil {
		gauge(c.messages, float64(st.Messages))
		gauge(c.held, float64(st.Held))
		gauge(c.recipients, float64(st.Recipients))
		gauge(c.bytes, float64(st.Bytes))
	}
	s := c.d.sched.Status()
	gauge(c.inFlight, float64(s.Remote.InFlight), "remote")
	gauge(c.inFlight, float64(s.Local.InFlight), "local")
	gauge(c.limit, float64(s.Remote.Limit), "remote")
	gauge(c.limit, float64(s.Local.Limit), "local")
	counter(c.deliveries, float64(s.Deliveries))
	counter(c.tlsHeld, float64(s.TLSHeld))
	rc := c.d.remote.Counters()
	rc.Results(func(state, reason string, n int64) { counter(c.results, float64(n), state, reason) })
	rc.TLS(func(class, level string, n int64) { counter(c.tlsSessions, float64(n), class, level) })
	counter(c.connections, float64(rc.Connections.Load()))
	counter(c.reused, float64(rc.Reused.Load()))
	gauge(c.damaged, float64(c.d.damaged.Load()))
	c.d.dkimCounters.Signed(func(domain string, n int64) { counter(c.dkimSigned, float64(n), domain) })
	counter(c.dkimFailures, float64(c.d.dkimCounters.Failures()))
}

// serveMetrics serves /metrics on addr until ctx ends.
func (d *Daemon) serveMetrics(ctx context.Context, ln net.Listener) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(d))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		d.log.Error("metrics server failed", "err", err)
	}
	<-done
}
