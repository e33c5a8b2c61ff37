package dkim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// RecordName is the DNS name of k's public key record:
// <selector>._domainkey.<domain> (RFC 6376 §3.6.2.1).
func (k *Key) RecordName() string { return k.Selector + "._domainkey." + k.Domain }

// Record is the TXT record that publishes k's public key (RFC 6376
// §3.6.1): p= is the DER SubjectPublicKeyInfo of an RSA key, or the 32
// bytes of an Ed25519 key (RFC 8463 §4.2).
func (k *Key) Record() string {
	return "v=DKIM1; k=" + k.Algorithm() + "; p=" + base64.StdEncoding.EncodeToString(publicBytes(k))
}

func publicBytes(k *Key) []byte {
	switch pub := k.Signer.Public().(type) {
	case ed25519.PublicKey:
		return pub
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil
		}
		return der
	}
	return nil
}

// Strings splits a TXT record's value into the character strings of at
// most 255 bytes that one DNS TXT record holds (RFC 1035 §3.3.14); the
// verifier joins them (RFC 6376 §3.6.2.2).
func Strings(value string) []string {
	var out []string
	for len(value) > 255 {
		out = append(out, value[:255])
		value = value[255:]
	}
	return append(out, value)
}

// Tags parses a tag list (RFC 6376 §3.2): tag=value pairs separated by
// semicolons, whitespace around them ignored. A tag without "=" or one
// named twice is an error.
func Tags(s string) (map[string]string, error) {
	tags := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("tag %q has no value", part)
		}
		name = strings.TrimSpace(name)
		if _, dup := tags[name]; dup {
			return nil, fmt.Errorf("tag %q appears twice", name)
		}
		tags[name] = strings.TrimSpace(value)
	}
	return tags, nil
}

// Match reports whether the published record txt (its strings joined)
// holds k's public key: nil when it does, else an error that says how it
// differs.
func (k *Key) Match(txt string) error {
	tags, err := Tags(txt)
	if err != nil {
		return err
	}
	if v, ok := tags["v"]; ok && v != "DKIM1" {
		return fmt.Errorf("v=%s is not DKIM1", v)
	}
	kt := tags["k"]
	if kt == "" {
		kt = "rsa" // RFC 6376 §3.6.1: the default
	}
	if kt != k.Algorithm() {
		return fmt.Errorf("the record is for a key of type %s, the key file holds %s", kt, k.Algorithm())
	}
	p, ok := tags["p"]
	if !ok {
		return errors.New("the record has no p= tag")
	}
	if p == "" {
		return errors.New("the record revokes the key (empty p=)")
	}
	pub, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(p), ""))
	if err != nil {
		return fmt.Errorf("p= is not base64: %v", err)
	}
	want := publicBytes(k)
	if k.Algorithm() == "rsa" && !bytes.Equal(pub, want) {
		// Some publish the PKCS #1 form; compare the keys themselves.
		if rk, err := x509.ParsePKCS1PublicKey(pub); err == nil {
			if rk.Equal(k.Signer.Public()) {
				return nil
			}
		}
	}
	if !bytes.Equal(pub, want) {
		return errors.New("the published public key is not the key file's")
	}
	return nil
}
