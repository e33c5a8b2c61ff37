package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/qsend/qsend/internal/dkim"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/setup"
)

// dkimLookupTimeout bounds the DNS lookups of `qsend dkim check`.
const dkimLookupTimeout = 30 * time.Second

func (a *app) dkimCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "dkim",
		Short: "DKIM keys in control_dir/domainkeys and their DNS records",
	}
	c.AddCommand(a.dkimKeygenCmd(), a.dkimCheckCmd())
	return c
}

// dkimKeygenCmd is `qsend dkim keygen DOMAIN [SELECTOR]` (docs/dkim.md).
func (a *app) dkimKeygenCmd() *cobra.Command {
	var alg string
	var bits int
	c := &cobra.Command{
		Use:   "keygen DOMAIN [SELECTOR]",
		Short: "Write a new DKIM key to control_dir/domainkeys/DOMAIN/SELECTOR (default selector: the year and month, 202612) and print its TXT record",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, _, err := a.loadConfig()
			if err != nil {
				return exitf(2, "configuration: %v", err)
			}
			domain := strings.ToLower(strings.TrimSuffix(args[0], "."))
			selector := time.Now().Format("200601")
			if len(args) == 2 {
				selector = args[1]
			}
			der, err := newDKIMKey(alg, bits)
			if err != nil {
				return exitf(2, "dkim keygen: %v", err)
			}
			path := filepath.Join(setup.DKIMDir(cfg), domain, selector)
			if err := writeDKIMKey(path, der); err != nil {
				return exitf(2, "dkim keygen: %v", err)
			}
			k, err := dkim.ReadKey(path, domain, selector)
			if err != nil {
				os.Remove(path)
				return exitf(2, "dkim keygen: %v", err)
			}
			fmt.Fprintf(a.stdout, "wrote %s\n", path)
			fmt.Fprintf(a.stdout, "publish this TXT record, then run: qsend dkim check %s\n", domain)
			printRecord(a, k)
			if sameAlgorithm(filepath.Dir(path), k) {
				fmt.Fprintf(a.stdout, "the folder holds other keys: once the record is published, write %q to %s to sign with this one\n",
					selector, filepath.Join(filepath.Dir(path), dkim.SelectorFile))
			}
			return nil
		},
	}
	c.Flags().StringVar(&alg, "type", "rsa", "key type: rsa or ed25519 (RFC 8463; not every verifier knows it, so sign with both)")
	c.Flags().IntVar(&bits, "bits", 2048, "RSA key size")
	return c
}

// printRecord prints k's TXT record in zone-file form, its value split
// into strings of at most 255 bytes.
func printRecord(a *app, k *dkim.Key) {
	var quoted []string
	for _, s := range dkim.Strings(k.Record()) {
		quoted = append(quoted, strconv.Quote(s))
	}
	fmt.Fprintf(a.stdout, "%s. IN TXT ( %s )\n", k.RecordName(), strings.Join(quoted, "\n\t"))
}

// newDKIMKey returns a new private key in PKCS #8 DER form.
func newDKIMKey(alg string, bits int) ([]byte, error) {
	switch alg {
	case "rsa":
		if bits < dkim.MinRSABits {
			return nil, fmt.Errorf("--bits %d: at least %d", bits, dkim.MinRSABits)
		}
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKCS8PrivateKey(k)
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKCS8PrivateKey(k)
	}
	return nil, fmt.Errorf("--type %q: rsa or ed25519", alg)
}

// writeDKIMKey writes a new key file at path, mode 0600, owned by the
// caller, refusing to replace one (docs/dkim.md says how to give it to
// the daemon's user).
func writeDKIMKey(path string, der []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists; choose another selector", path)
	}
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// dkimCheckCmd is `qsend dkim check DOMAIN`: exit 0 when every key of the
// domain has its record published, 1 when one is missing or differs, 2
// on an error.
func (a *app) dkimCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check DOMAIN",
		Short: "Check that the DNS record of each DKIM key of DOMAIN is published and matches the key",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, _, err := a.loadConfig()
			if err != nil {
				return exitf(2, "configuration: %v", err)
			}
			domain := strings.ToLower(strings.TrimSuffix(args[0], "."))
			ks, err := setup.DKIMKeys(cfg)
			if err != nil {
				return exitf(2, "%v", err)
			}
			keys := ks.All[domain]
			if len(keys) == 0 {
				return exitf(1, "dkim check: no key for %s in %s or dkim.keys", domain, setup.DKIMDir(cfg))
			}
			res, err := mx.New(mx.Options{Resolvers: cfg.DNSResolvers, Me: cfg.Me})
			if err != nil {
				return exitf(2, "dkim check: %v", err)
			}
			inUse := map[*dkim.Key]bool{}
			for _, k := range ks.InUse[domain] {
				inUse[k] = true
			}
			ctx, cancel := context.WithTimeout(context.Background(), dkimLookupTimeout)
			defer cancel()
			code := 0
			for _, k := range keys {
				state := "not in use"
				if inUse[k] {
					state = "in use"
				}
				txts, err := res.TXT(ctx, k.RecordName())
				if err != nil {
					fmt.Fprintf(a.stdout, "%s (%s, %s): lookup failed: %v\n", k.RecordName(), k.Algorithm(), state, err)
					code = 2
					continue
				}
				verdict := checkRecords(k, txts)
				if verdict != "" {
					code = max(code, 1)
				} else {
					verdict = "published, matches " + k.File
				}
				fmt.Fprintf(a.stdout, "%s (%s, %s): %s\n", k.RecordName(), k.Algorithm(), state, verdict)
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}

// checkRecords returns "" when exactly one of txts is k's record, else
// what is wrong (RFC 6376 §3.6.2.2: several records make the result
// undefined).
func checkRecords(k *dkim.Key, txts []string) string {
	switch len(txts) {
	case 0:
		return "no record"
	case 1:
		if err := k.Match(txts[0]); err != nil {
			return "mismatch: " + err.Error()
		}
		return ""
	}
	return fmt.Sprintf("%d TXT records; publish one", len(txts))
}

// sameAlgorithm reports whether dir holds another key of k's algorithm,
// so that the selector file must say which one is in use.
func sameAlgorithm(dir string, k *dkim.Key) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() == k.Selector || e.Name() == dkim.SelectorFile {
			continue
		}
		if o, err := dkim.ReadKey(filepath.Join(dir, e.Name()), k.Domain, e.Name()); err == nil && o.Algorithm() == k.Algorithm() {
			return true
		}
	}
	return false
}
