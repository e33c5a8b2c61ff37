package certfile

import (
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"
)

// recheck is how often a Reloader looks at its file at most.
const recheck = time.Second

// Reloader serves the certificate in one file to crypto/tls and follows
// changes to the file without a goroutine: each use stats the file, at
// most once a second, and reads it again when its size, modification time
// or inode changed. A new file that does not load leaves the last good
// certificate in service and is logged once; a removed file leaves no
// certificate, so Present turns false (and STARTTLS is no longer
// advertised, as qmail-smtpd stats servercert.pem at each EHLO;
// qmail-tls qmail-smtpd.c tls_init()).
type Reloader struct {
	path string
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex
	checked time.Time        // when the file was last statted
	id      fileID           // the file last read, good or bad
	read    bool             // id is valid
	cert    *tls.Certificate // the last good certificate, nil when none
	err     error            // why there is no certificate
}

// NewReloader returns a Reloader for the certificate file at path; the file
// is first read when the Reloader is first used. logger may be nil.
func NewReloader(path string, logger *slog.Logger) *Reloader {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Reloader{path: path, log: logger, now: time.Now}
}

// Present reports whether a usable certificate is loaded from the file.
func (r *Reloader) Present() bool {
	c, _ := r.current()
	return c != nil
}

// GetCertificate returns the certificate for a server; it fits
// tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c, err := r.current()
	if c == nil {
		return nil, err
	}
	return c, nil
}

// GetClientCertificate returns the certificate for a client whose server
// asked for one; it fits tls.Config.GetClientCertificate. Without a usable
// file it returns an empty certificate, so none is sent: qmail-tls ignores
// a missing or broken clientcert.pem and lets the server decide
// (qmail-tls qmail-remote.c tls_init()).
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	c, _ := r.current()
	if c == nil {
		return &tls.Certificate{}, nil
	}
	return c, nil
}

// current returns the certificate in service, looking at the file first
// when the last look is a second old.
func (r *Reloader) current() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.checked.IsZero() || now.Sub(r.checked) >= recheck || now.Before(r.checked) {
		r.checked = now
		r.refresh()
	}
	return r.cert, r.err
}

// refresh stats the file and reads it when it changed. r.mu is held.
func (r *Reloader) refresh() {
	fi, err := os.Stat(r.path)
	if err != nil {
		if r.cert != nil || !r.read {
			level := slog.LevelWarn
			if errors.Is(err, fs.ErrNotExist) && r.cert == nil {
				// No certificate was ever there: the usual setup without
				// TLS, not worth a line per qsend smtpd session.
				level = slog.LevelDebug
			}
			r.log.Log(context.Background(), level, "certificate file unavailable", "file", r.path, "err", err)
		}
		r.cert, r.err, r.read = nil, err, true
		r.id = fileID{}
		return
	}
	id := idOf(fi)
	if r.read && id == r.id {
		return
	}
	r.id, r.read = id, true
	c, err := Load(r.path)
	if err != nil {
		if r.cert != nil {
			r.log.Warn("certificate file does not load; keeping the previous certificate", "file", r.path, "err", err)
			return
		}
		r.log.Warn("certificate file does not load", "file", r.path, "err", err)
		r.err = err
		return
	}
	r.log.Info("certificate loaded", "file", r.path, "subject", c.Leaf.Subject.String(),
		"not_after", c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	r.cert, r.err = &c, nil
}
