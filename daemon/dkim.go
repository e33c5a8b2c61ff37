package daemon

import (
	"context"
	"io"

	"github.com/qsend/qsend/setup"
)

// buildDKIM loads the DKIM keys of the configuration (docs/dkim.md) into
// a new signer, which counts into the daemon's counters so that the
// counts survive a reload.
func (d *Daemon) buildDKIM() error {
	s, err := setup.DKIM(d.cfg, d.layout.Tmp, &d.dkimCounters, d.log)
	if err != nil {
		return err
	}
	d.dkim.Store(s)
	return nil
}

// localSubmitter reports whether a submission by uid is local intake
// (qmail-inject, sendmail, qmail-queue run by a local user), whose mail
// is signed: not qmaild's, which is mail from the network that `qsend
// smtpd` under tcpserver passed on without saying whether its client was
// a relay client (qmail-queue.c: "invoked from network").
func (d *Daemon) localSubmitter(uid int) bool {
	return uid >= 0 && d.invokers.Words(uid) != "from network"
}

// signBounce returns the signing of the bounces and delay notices the
// scheduler queues: with the key of their From: domain, else of me's
// (docs/dkim.md).
func (d *Daemon) signBounce(me string) func(io.Reader) io.Reader {
	return func(r io.Reader) io.Reader {
		m, err := d.dkim.Load().Sign(context.Background(), r, me)
		if err != nil {
			return errReader{err}
		}
		return m
	}
}

// errReader fails every read with err: the bounce is then not queued
// and is tried again later, as after any error reading the message.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
