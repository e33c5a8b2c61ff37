package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/qsend/qsend/config/control"
)

// MinRSABits is the smallest RSA key accepted: RFC 8301 §3.2 requires
// signers to use at least 1024 bits, and 2048 is what every large
// receiver now expects.
const MinRSABits = 2048

// SelectorFile is the file in a domain's folder that names the selectors
// in use, one per line, when the folder holds several keys.
const SelectorFile = "selector"

// Key is one private key and where it is published.
type Key struct {
	Domain   string // the signing domain, d= (lower case)
	Selector string // s=
	File     string // where the key was read from
	Signer   crypto.Signer
}

// Algorithm is the key's k= tag: "rsa" or "ed25519".
func (k *Key) Algorithm() string {
	if _, ok := k.Signer.Public().(ed25519.PublicKey); ok {
		return "ed25519"
	}
	return "rsa"
}

// Keys are the keys found for each signing domain.
type Keys struct {
	// InUse are the keys messages are signed with, by lower-case domain:
	// at most one per algorithm.
	InUse map[string][]*Key
	// All are every key of each domain, in use or not (a new key is
	// published before its selector is switched).
	All map[string][]*Key
}

// Spec names a key file outside the control directory (dkim.keys).
type Spec struct {
	Domain, Selector, File string
}

// Load reads the keys of dir (control_dir/domainkeys/<domain>/<selector>,
// the layout of the qmail-dkim patches) and those of specs, which replace
// the folder's keys of their domains. A missing dir holds no keys. Every
// key that does not parse, is readable by others or is too weak is an
// error naming its file; all of them are reported.
func Load(dir string, specs []Spec) (*Keys, error) {
	ks := &Keys{InUse: map[string][]*Key{}, All: map[string][]*Key{}}
	var errs []error
	override := map[string]bool{}
	for _, sp := range specs {
		override[strings.ToLower(sp.Domain)] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("dkim keys: %w", err)
	}
	for _, e := range entries {
		domain := strings.ToLower(e.Name())
		if !e.IsDir() || override[domain] || strings.HasPrefix(domain, ".") {
			continue
		}
		all, inUse, err := loadDomain(filepath.Join(dir, e.Name()), domain)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(all) > 0 {
			ks.All[domain], ks.InUse[domain] = all, inUse
		}
	}
	for _, sp := range specs {
		domain := strings.ToLower(sp.Domain)
		k, err := ReadKey(sp.File, domain, sp.Selector)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ks.All[domain] = append(ks.All[domain], k)
		if err := addInUse(ks.InUse, k); err != nil {
			errs = append(errs, fmt.Errorf("dkim.keys: %w", err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ks, nil
}

// addInUse adds k to its domain's keys in use, one per algorithm.
func addInUse(m map[string][]*Key, k *Key) error {
	for _, o := range m[k.Domain] {
		if o.Algorithm() == k.Algorithm() {
			return fmt.Errorf("%s: two %s keys in use for %s (%s and %s)", k.File, k.Algorithm(), k.Domain, o.Selector, k.Selector)
		}
	}
	m[k.Domain] = append(m[k.Domain], k)
	return nil
}

// loadDomain reads one domain's folder. The selector file names the keys
// in use; without it a folder of one key, or of one RSA and one Ed25519
// key, uses them all, and any other folder is an error.
func loadDomain(dir, domain string) (all, inUse []*Key, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("dkim keys: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() || e.Name() == SelectorFile || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		k, err := ReadKey(filepath.Join(dir, e.Name()), domain, e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all = append(all, k)
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	selFile := filepath.Join(dir, SelectorFile)
	data, err := os.ReadFile(selFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		m := map[string][]*Key{}
		for _, k := range all {
			if err := addInUse(m, k); err != nil {
				return nil, nil, fmt.Errorf("%s: several keys of one algorithm and no %s file naming the one in use", dir, SelectorFile)
			}
		}
		return all, m[domain], nil
	case err != nil:
		return nil, nil, fmt.Errorf("dkim keys: %w", err)
	}
	m := map[string][]*Key{}
	for _, l := range control.ParseList(selFile, data) {
		j := slices.IndexFunc(all, func(k *Key) bool { return k.Selector == l.Text })
		if j < 0 {
			return nil, nil, fmt.Errorf("%s: no key file %q in %s", l.Pos(), l.Text, dir)
		}
		if err := addInUse(m, all[j]); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", l.Pos(), err)
		}
	}
	return all, m[domain], nil
}

// ReadKey reads a PEM private key (PKCS #1 or PKCS #8; RSA of at least
// MinRSABits, or Ed25519) from file. A file that others may read is
// refused, as is one that is not a regular file.
func ReadKey(file, domain, selector string) (*Key, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("dkim key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("dkim key %s: not a regular file", file)
	}
	if fi.Mode().Perm()&0o004 != 0 {
		return nil, fmt.Errorf("dkim key %s: readable by others (mode %04o); make it 0600 or 0640", file, fi.Mode().Perm())
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("dkim key: %w", err)
	}
	s, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("dkim key %s: %w", file, err)
	}
	if !validSelector(selector) {
		return nil, fmt.Errorf("dkim key %s: %q is not a valid selector", file, selector)
	}
	return &Key{Domain: strings.ToLower(domain), Selector: selector, File: file, Signer: s}, nil
}

// ParseKey parses the first PEM block of data as a private key.
func ParseKey(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key (RSA PRIVATE KEY or PRIVATE KEY)", b.Type)
	}
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if n := k.N.BitLen(); n < MinRSABits {
			return nil, fmt.Errorf("RSA key of %d bits; at least %d are needed", n, MinRSABits)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported key type %T (RSA or Ed25519)", key)
}

// validSelector reports whether s can be a selector: dot-separated DNS
// labels (RFC 6376 §3.1).
func validSelector(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
