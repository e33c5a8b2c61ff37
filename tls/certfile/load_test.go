package certfile

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

// keyBlock encodes c's key in the given PEM form: "pkcs1", "sec1" or "pkcs8".
func keyBlock(t *testing.T, c *certtest.Cert, form string) []byte {
	t.Helper()
	switch form {
	case "pkcs1":
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(c.Key.(*rsa.PrivateKey))})
	case "sec1":
		der, err := x509.MarshalECPrivateKey(c.Key.(*ecdsa.PrivateKey))
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	return c.KeyPEM(t)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestLoad(t *testing.T) {
	ca := certtest.NewCA(t, "Test Root")
	inter := ca.Intermediate(t, "Test Intermediate")
	rsaLeaf := ca.Issue(t, certtest.Options{CommonName: "mx.example.com", Key: certtest.RSA})
	ecLeaf := ca.Issue(t, certtest.Options{CommonName: "mx.example.com", Key: certtest.ECDSA})
	edLeaf := ca.Issue(t, certtest.Options{CommonName: "mx.example.com", Key: certtest.Ed25519})
	chained := inter.Issue(t, certtest.Options{CommonName: "mx.example.com"})
	other := ca.Issue(t, certtest.Options{CommonName: "other.example.com"})
	ecParams := []byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n")

	tests := []struct {
		name   string
		data   []byte
		leaf   *certtest.Cert
		nCerts int
		err    error  // errors.Is target
		text   string // substring of the error
	}{
		{name: "RSA PKCS#1", data: cat(rsaLeaf.CertPEM(), keyBlock(t, rsaLeaf, "pkcs1")), leaf: rsaLeaf, nCerts: 1},
		{name: "RSA PKCS#8", data: cat(rsaLeaf.CertPEM(), keyBlock(t, rsaLeaf, "pkcs8")), leaf: rsaLeaf, nCerts: 1},
		{name: "ECDSA SEC1 with EC PARAMETERS", data: cat(ecLeaf.CertPEM(), ecParams, keyBlock(t, ecLeaf, "sec1")), leaf: ecLeaf, nCerts: 1},
		{name: "ECDSA PKCS#8", data: cat(ecLeaf.CertPEM(), keyBlock(t, ecLeaf, "pkcs8")), leaf: ecLeaf, nCerts: 1},
		{name: "Ed25519 PKCS#8", data: cat(edLeaf.CertPEM(), keyBlock(t, edLeaf, "pkcs8")), leaf: edLeaf, nCerts: 1},
		{name: "key first", data: cat(keyBlock(t, ecLeaf, "sec1"), ecLeaf.CertPEM()), leaf: ecLeaf, nCerts: 1},
		{name: "chain with intermediate", data: cat(chained.CertPEM(), chained.KeyPEM(t)), leaf: chained, nCerts: 2},
		{name: "chain with root too", data: cat(chained.CertPEM(), ca.PEM(), chained.KeyPEM(t)), leaf: chained, nCerts: 3},
		{name: "no certificate", data: ecLeaf.KeyPEM(t), err: ErrNoCertificate, text: "servercert.pem: no certificate"},
		{name: "no key", data: ecLeaf.CertPEM(), err: ErrNoKey, text: "servercert.pem: no private key"},
		{name: "empty", data: nil, err: ErrNoCertificate},
		{name: "not PEM", data: []byte("hello\n"), err: ErrNoCertificate},
		{name: "key of another certificate", data: cat(ecLeaf.CertPEM(), other.KeyPEM(t)), err: ErrKeyMismatch, text: "servercert.pem: key does not match certificate"},
		{name: "leaf not first", data: cat(inter.PEM(), certtest.CertsPEM(chained.Cert), chained.KeyPEM(t)), err: ErrKeyMismatch, text: "belongs to certificate 2"},
		{name: "two keys", data: cat(ecLeaf.CertPEM(), ecLeaf.KeyPEM(t), other.KeyPEM(t)), text: "more than one private key"},
		{name: "encrypted PKCS#8", data: cat(ecLeaf.CertPEM(), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})), text: "encrypted"},
		{name: "encrypted legacy", data: cat(ecLeaf.CertPEM(), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}})), text: "encrypted"},
		{name: "broken certificate", data: cat(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}}), ecLeaf.KeyPEM(t)), text: "servercert.pem: certificate 1:"},
		{name: "broken key", data: cat(ecLeaf.CertPEM(), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{0x30, 0}})), text: "servercert.pem: private key:"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "servercert.pem")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if tc.leaf == nil {
				if err == nil {
					t.Fatal("Load succeeded, want an error")
				}
				if tc.err != nil && !errors.Is(err, tc.err) {
					t.Errorf("error %v, want %v", err, tc.err)
				}
				if !strings.Contains(err.Error(), tc.text) {
					t.Errorf("error %q does not contain %q", err, tc.text)
				}
				if !strings.HasPrefix(err.Error(), path) {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.Leaf.Equal(tc.leaf.Cert) || len(c.Certificate) != tc.nCerts {
				t.Errorf("leaf %s, %d certificates; want %s, %d", c.Leaf.Subject, len(c.Certificate), tc.leaf.Cert.Subject, tc.nCerts)
			}
			if c.PrivateKey == nil {
				t.Error("no private key")
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "missing.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestLoadPool(t *testing.T) {
	ca1, ca2 := certtest.NewCA(t, "One"), certtest.NewCA(t, "Two")
	leaf1 := ca1.Issue(t, certtest.Options{CommonName: "a"})
	leaf2 := ca2.Issue(t, certtest.Options{CommonName: "b"})
	dir := t.TempDir()
	tests := []struct {
		name string
		data []byte
		ok   []*certtest.Cert // leaves the pool must verify
		bad  []*certtest.Cert // leaves it must not
		text string
	}{
		{name: "one CA", data: ca1.PEM(), ok: []*certtest.Cert{leaf1}, bad: []*certtest.Cert{leaf2}},
		{name: "two CAs and a key", data: cat(ca1.PEM(), leaf1.KeyPEM(t), ca2.PEM()), ok: []*certtest.Cert{leaf1, leaf2}},
		{name: "no certificate", data: []byte("# nothing\n"), text: "tlshosts.pem: no certificate"},
		{name: "broken", data: cat(ca1.PEM(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})), text: "tlshosts.pem: certificate 2:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "tlshosts.pem")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			pool, err := LoadPool(path)
			if tc.text != "" {
				if err == nil || !strings.Contains(err.Error(), tc.text) {
					t.Fatalf("LoadPool: %v, want an error containing %q", err, tc.text)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tc.ok {
				if _, err := l.Cert.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
					t.Errorf("%s: %v", l.Cert.Subject, err)
				}
			}
			for _, l := range tc.bad {
				if _, err := l.Cert.Verify(x509.VerifyOptions{Roots: pool}); err == nil {
					t.Errorf("%s verified, want a failure", l.Cert.Subject)
				}
			}
		})
	}
}

func TestPoolCache(t *testing.T) {
	ca1, ca2 := certtest.NewCA(t, "One"), certtest.NewCA(t, "Two")
	leaf2 := ca2.Issue(t, certtest.Options{CommonName: "b"})
	dir := t.TempDir()
	path := filepath.Join(dir, "mx.example.com.pem")
	var c PoolCache
	if _, err := c.Load(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	ca1.WritePEM(t, path)
	p1, err := c.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.Load(path); again != p1 {
		t.Error("an unchanged file was read again")
	}
	// Replace by rename, as installers do: a new inode.
	tmp := filepath.Join(dir, "new")
	ca2.WritePEM(t, tmp)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	p2, err := c.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf2.Cert.Verify(x509.VerifyOptions{Roots: p2}); err != nil {
		t.Errorf("the replaced file was not read: %v", err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Load(path); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("broken file: %v", err)
	}
	os.Remove(path)
	if _, err := c.Load(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("removed file: %v", err)
	}
}
