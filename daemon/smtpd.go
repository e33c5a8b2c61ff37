package daemon

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/qsend/qsend/config"
	"github.com/qsend/qsend/intake"
	"github.com/qsend/qsend/intake/qq"
	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/internal/trace"
	"github.com/qsend/qsend/setup"
	"github.com/qsend/qsend/smtpd"
	"github.com/qsend/qsend/store"
)

// smtpListener is one open smtpd.listen socket.
type smtpListener struct {
	ln   net.Listener
	mode smtpd.Mode
}

// listenSMTP opens the smtpd.listen sockets; on an error none stays open.
func listenSMTP(cfg *config.Config) ([]smtpListener, error) {
	var out []smtpListener
	for _, l := range cfg.SMTPDListen {
		ln, err := net.Listen("tcp", l.Address)
		if err != nil {
			for _, o := range out {
				o.ln.Close()
			}
			return nil, fmt.Errorf("smtpd.listen (%s): %w", cfg.Origin("smtpd.listen"), err)
		}
		out = append(out, smtpListener{ln: ln, mode: setup.ListenerMode(l.Mode)})
	}
	return out, nil
}

// smtpOptions builds the listeners' server options. Accepted messages go
// into the queue directly, or through smtpd.qmailqueue when it is set (a
// content filter such as simscan, as QMAILQUEUE in qmail.c qmail_open()).
func (d *Daemon) smtpOptions(cfg *config.Config) (*setup.Built, error) {
	var q smtpd.Queue = storeQueue{d}
	if cfg.SMTPDQmailQueue != "" {
		q = smtpd.EnvelopeOnly(qq.Queue{Program: cfg.SMTPDQmailQueue, Dir: filepath.Dir(cfg.ControlDir), Layout: d.layout, PID: os.Getpid()})
	}
	return setup.SMTPOptions(cfg, q, d.log)
}

// smtpServer builds the listeners' SMTP server.
func (d *Daemon) smtpServer(cfg *config.Config) (*smtpd.Server, *setup.Built, error) {
	built, err := d.smtpOptions(cfg)
	if err != nil {
		return nil, nil, err
	}
	srv, err := smtpd.NewServer(built.Options)
	if err != nil {
		built.Close()
		return nil, nil, err
	}
	return srv, built, nil
}

// reconfigureSMTP gives new sessions the options of built (SIGHUP). The
// files the old options hold stay open for the sessions still using them,
// until the daemon stops.
func (d *Daemon) reconfigureSMTP(built *setup.Built) error {
	if err := d.smtp.Reconfigure(built.Options); err != nil {
		return err
	}
	d.smtpRetired = append(d.smtpRetired, d.smtpBuilt)
	d.smtpBuilt = built
	return nil
}

// storeQueue queues the listeners' messages in the daemon's own store,
// with the Received line qmail-queue writes for qmail-smtpd's messages
// (qmail-queue.c: "invoked from network").
type storeQueue struct{ d *Daemon }

func (q storeQueue) Enqueue(ctx context.Context, env envelope.Envelope, o smtpd.Origin, body io.Reader) error {
	if err := intake.Validate(env); err != nil {
		return err
	}
	now := time.Now()
	pid := os.Getpid()
	in := store.Intake{Protocol: "smtp", UID: -1, PID: pid}
	if o != (smtpd.Origin{}) {
		// queue show tells where the message came from.
		in.Protocol, in.ClientAddr, in.HELO, in.TLS, in.Auth = o.Protocol, o.ClientAddr, o.HELO, o.TLS, o.Auth
	}
	msg := store.NewMessage{Sender: env.Sender, Recipients: env.Recipients, Born: now, Intake: in, SMTPUTF8: o.SMTPUTF8}
	// Signed: mail of a client that may relay, by AUTH, a relay
	// certificate or RELAYCLIENT; not mail from the Internet to a local
	// domain (docs/dkim.md).
	sign := o.Auth != "" || o.Relay
	_, err := q.d.enqueue(ctx, msg, trace.Received(pid, "from network", now), body, sign)
	if err != nil {
		return intake.Errorf(queueExit(err), "queueing the message: %v", err)
	}
	return nil
}
