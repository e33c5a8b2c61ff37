package certrelay

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/qsend/qsend/config/control"
)

// Options configure a Relay. Each file is ControlDir/<name> unless its
// explicit path is set.
type Options struct {
	// ControlDir is the qmail control directory.
	ControlDir string
	// TLSClients is the list of e-mail addresses allowed to relay
	// (default ControlDir/tlsclients).
	TLSClients string
	// ClientCA holds the PEM certificates client certificates must chain
	// to (default ControlDir/clientca.pem).
	ClientCA string
	// ClientCRL holds PEM CRLs; optional (default ControlDir/clientcrl.pem).
	ClientCRL string
	// Logger receives reload messages (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock for verification and the change checks (default
	// time.Now).
	Now func() time.Time
}

// Relay is the client-certificate relay check. Its methods may be called
// from several goroutines at once.
type Relay struct {
	logger *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	clientsF watched
	caF      watched
	crlF     watched
	clients  map[string]bool // lower-cased; nil when tlsclients is absent
	pool     *x509.CertPool  // nil when clientca.pem is absent or holds no certificate
	crls     []*x509.RevocationList
	crlBad   bool  // clientcrl.pem exists but holds no CRL
	readErr  error // tlsclients exists but cannot be read
}

// ErrNoCertificate is returned by Check when the client sent no
// certificate. qmail-tls gives no reason then: the reply is the bare "no
// valid cert for gatewaying".
var ErrNoCertificate = errors.New("no client certificate")

// ErrNotConfigured is returned by Check when tlsclients or clientca.pem is
// missing or holds nothing usable. qmail-tls gives no reason then either.
var ErrNotConfigured = errors.New("tlsclients or clientca.pem missing or empty")

// Rejection is a certificate that does not allow relaying. Its Error is
// qmail-tls's reason, for "no valid cert for gatewaying: <reason>".
type Rejection struct {
	Reason string
	// Err is the underlying verification error, if any, for logs.
	Err error
}

// Error returns the reason.
func (r *Rejection) Error() string { return r.Reason }

// Unwrap returns the underlying verification error.
func (r *Rejection) Unwrap() error { return r.Err }

// New returns a Relay for the files named by o. It reads nothing yet:
// missing files are normal (no tlsclients: certificate relaying is off).
func New(o Options) (*Relay, error) {
	path := func(explicit, name string) (string, error) {
		if explicit != "" {
			return explicit, nil
		}
		if o.ControlDir == "" {
			return "", fmt.Errorf("certrelay: neither ControlDir nor the path of %s is set", name)
		}
		return filepath.Join(o.ControlDir, name), nil
	}
	r := &Relay{logger: o.Logger, now: o.Now}
	if r.logger == nil {
		r.logger = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	var err error
	if r.clientsF.path, err = path(o.TLSClients, "tlsclients"); err != nil {
		return nil, err
	}
	if r.caF.path, err = path(o.ClientCA, "clientca.pem"); err != nil {
		return nil, err
	}
	if r.crlF.path, err = path(o.ClientCRL, "clientcrl.pem"); err != nil {
		return nil, err
	}
	return r, nil
}

// Active reports whether tlsclients exists, so that smtpd requests client
// certificates (qmail-tls qmail-smtpd.c tls_verify()).
func (r *Relay) Active() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh()
	return r.clients != nil || r.readErr != nil
}

// ClientCAs returns the certificates of clientca.pem, whose subjects the
// server sends as acceptable CAs; nil when there are none.
func (r *Relay) ClientCAs() *x509.CertPool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh()
	return r.pool
}

// Check decides whether the client of cs may relay. It returns the
// certificate's e-mail address when it may; otherwise a *Rejection with
// qmail-tls's reason, ErrNoCertificate, ErrNotConfigured, or another error
// when tlsclients cannot be read (qmail-tls then answers "421 unable to
// read controls").
func (r *Relay) Check(cs tls.ConnectionState) (string, error) {
	r.mu.Lock()
	r.refresh()
	clients, pool, crls, crlBad, readErr := r.clients, r.pool, r.crls, r.crlBad, r.readErr
	r.mu.Unlock()

	switch {
	case readErr != nil:
		return "", readErr
	case len(cs.PeerCertificates) == 0:
		return "", ErrNoCertificate
	case clients == nil || pool == nil:
		return "", ErrNotConfigured
	}
	chain, err := verify(cs.PeerCertificates, pool, r.now())
	if err != nil {
		return "", err
	}
	if crls != nil || crlBad {
		if err := checkRevocation(chain, crls, r.now()); err != nil {
			return "", err
		}
	}
	emails := addresses(chain[0])
	if len(emails) == 0 {
		return "", &Rejection{Reason: "contains no email address"}
	}
	for _, e := range emails {
		if clients[strings.ToLower(e)] {
			return e, nil
		}
	}
	return "", &Rejection{Reason: "email address not in my list of tlsclients"}
}

// refresh reloads the files that changed; called with r.mu held.
func (r *Relay) refresh() {
	now := r.now()
	if changed, data, err := r.clientsF.refresh(now); changed {
		r.readErr = nil
		switch {
		case err != nil:
			r.clients, r.readErr = nil, fmt.Errorf("%s: %w", r.clientsF.path, err)
			r.logger.Error("certrelay: cannot read tlsclients", "err", r.readErr)
		case r.clientsF.info == nil:
			r.clients = nil
		default:
			r.clients = make(map[string]bool)
			for _, l := range control.ParseList(r.clientsF.path, data) {
				r.clients[strings.ToLower(l.Text)] = true
			}
			r.logger.Info("certrelay: tlsclients loaded", "path", r.clientsF.path, "addresses", len(r.clients))
		}
	}
	if changed, data, err := r.caF.refresh(now); changed {
		r.pool = nil
		switch {
		case err != nil:
			r.logger.Error("certrelay: cannot read clientca.pem", "path", r.caF.path, "err", err)
		case r.caF.info != nil:
			pool, n := parseCerts(data)
			if n == 0 {
				r.logger.Error("certrelay: no certificate in clientca.pem; certificate relaying refused", "path", r.caF.path)
			} else {
				r.pool = pool
				r.logger.Info("certrelay: clientca.pem loaded", "path", r.caF.path, "certificates", n)
			}
		}
	}
	if changed, data, err := r.crlF.refresh(now); changed {
		r.crls, r.crlBad = nil, false
		switch {
		case err != nil:
			r.crlBad = true
			r.logger.Error("certrelay: cannot read clientcrl.pem; certificate relaying refused", "path", r.crlF.path, "err", err)
		case r.crlF.info != nil:
			crls, bad := parseCRLs(data)
			if len(crls) == 0 {
				r.crlBad = true
				r.logger.Error("certrelay: no CRL in clientcrl.pem; certificate relaying refused", "path", r.crlF.path, "unparsable", bad)
			} else {
				r.crls = crls
				if bad > 0 {
					r.logger.Warn("certrelay: clientcrl.pem holds unparsable blocks", "path", r.crlF.path, "unparsable", bad)
				}
				r.logger.Info("certrelay: clientcrl.pem loaded", "path", r.crlF.path, "crls", len(crls))
			}
		}
	}
}

// parseCerts returns a pool of the CERTIFICATE blocks of data.
func parseCerts(data []byte) (*x509.CertPool, int) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return pool, n
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			continue
		}
		pool.AddCert(c)
		n++
	}
}

// parseCRLs returns the X509 CRL blocks of data and how many did not parse.
func parseCRLs(data []byte) (crls []*x509.RevocationList, bad int) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return crls, bad
		}
		if b.Type != "X509 CRL" {
			continue
		}
		crl, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			bad++
			continue
		}
		crls = append(crls, crl)
	}
}
