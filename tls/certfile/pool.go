package certfile

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"sync"
)

// LoadPool reads a PEM file of CA certificates (control/tlshosts/<host>.pem,
// control/clientca.pem) into a pool. Blocks other than certificates are
// skipped; a file without any certificate, or with one that does not
// parse, is an error naming the file.
func LoadPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parsePool(path, data)
}

// parsePool does LoadPool's work on the file's bytes.
func parsePool(name string, data []byte) (*x509.CertPool, error) {
	certs, err := parseCerts(name, data)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// LoadCerts reads the certificates of a PEM file, with LoadPool's rules.
func LoadCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseCerts(path, data)
}

// parseCerts returns the certificates of PEM data; name is the file.
func parseCerts(name string, data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", name, len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrNoCertificate)
	}
	return certs, nil
}

// PoolCache keeps CA files parsed. Load stats the file on every call, as
// qmail-remote looks at control/tlshosts for every delivery, and reads it
// again only when its size, modification time or inode changed. The zero
// value is ready to use and safe for concurrent use.
type PoolCache struct {
	mu sync.Mutex
	m  map[string]poolEntry
}

// poolEntry is one cached file: what it was and what it gave.
type poolEntry struct {
	id   fileID
	pool *x509.CertPool
	err  error
}

// Load returns the pool in the CA file at path, or the error reading it
// gave. A missing file's error satisfies errors.Is(err, fs.ErrNotExist).
func (c *PoolCache) Load(path string) (*x509.CertPool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		c.mu.Lock()
		delete(c.m, path)
		c.mu.Unlock()
		return nil, err
	}
	id := idOf(fi)
	c.mu.Lock()
	e, ok := c.m[path]
	c.mu.Unlock()
	if ok && e.id == id {
		return e.pool, e.err
	}
	pool, err := LoadPool(path)
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]poolEntry)
	}
	c.m[path] = poolEntry{id: id, pool: pool, err: err}
	c.mu.Unlock()
	return pool, err
}
