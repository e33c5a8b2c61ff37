package auth

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// hash is a stored password hash.
type hash interface {
	// verify reports whether pass is the password.
	verify(pass string) bool
}

// Limits on argon2id parameters, so that a typing error in the file cannot
// make every login allocate gigabytes or run for minutes.
const (
	maxArgonMemory  = 1 << 20 // KiB, 1 GiB
	maxArgonTime    = 1024
	minArgonSaltLen = 8 // RFC 9106 §3.1
	minArgonKeyLen  = 4 // RFC 9106 §3.1
	maxArgonKeyLen  = 1024
)

// parseHash reads a stored hash: bcrypt ($2a$, $2b$, $2y$) or argon2id in
// the PHC string format, optionally with Dovecot's {BLF-CRYPT} or
// {ARGON2ID} scheme prefix; "!" or "*" first marks a disabled account.
func parseHash(s string) (hash, error) {
	if strings.HasPrefix(s, "{") {
		scheme, rest, ok := strings.Cut(s[1:], "}")
		if !ok {
			return nil, errors.New("unterminated {scheme} prefix")
		}
		switch strings.ToUpper(scheme) {
		case "BLF-CRYPT", "ARGON2ID":
			s = rest
		default:
			return nil, fmt.Errorf("unsupported scheme {%s}; use bcrypt or argon2id", scheme)
		}
	}
	switch {
	case s == "":
		return nil, errors.New("empty hash")
	case s[0] == '!' || s[0] == '*':
		return disabled{}, nil
	case strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$"):
		if _, err := bcrypt.Cost([]byte(s)); err != nil {
			return nil, fmt.Errorf("bcrypt hash: %w", err)
		}
		return bcryptHash(s), nil
	case strings.HasPrefix(s, "$argon2id$"):
		return parseArgon2id(s)
	}
	return nil, errors.New("unknown hash format; use bcrypt ($2b$...) or argon2id ($argon2id$...)")
}

// disabled is an account that is never accepted.
type disabled struct{}

func (disabled) verify(string) bool { return false }

type bcryptHash string

func (h bcryptHash) verify(pass string) bool {
	return bcrypt.CompareHashAndPassword([]byte(h), []byte(pass)) == nil
}

type argon2idHash struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func (h *argon2idHash) verify(pass string) bool {
	key := argon2.IDKey([]byte(pass), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

// parseArgon2id reads "$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>", salt
// and hash in unpadded standard base64 (the PHC string format, as written
// by the argon2 reference implementation and Dovecot).
func parseArgon2id(s string) (hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 {
		return nil, errors.New(`argon2id hash: want "$argon2id$v=19$m=...,t=...,p=...$salt$hash"`)
	}
	if parts[2] != "v=19" {
		return nil, fmt.Errorf("argon2id hash: version %q, want v=19", parts[2])
	}
	h := &argon2idHash{}
	var seen [3]bool
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("argon2id hash: parameter %q is not a number", kv)
		}
		switch k {
		case "m":
			h.memory, seen[0] = uint32(n), true
		case "t":
			h.time, seen[1] = uint32(n), true
		case "p":
			if n > 255 {
				return nil, fmt.Errorf("argon2id hash: p=%d, more than 255", n)
			}
			h.threads, seen[2] = uint8(n), true
		default:
			return nil, fmt.Errorf("argon2id hash: unknown parameter %q", kv)
		}
	}
	switch {
	case !seen[0] || !seen[1] || !seen[2]:
		return nil, errors.New("argon2id hash: m, t and p are all required")
	case h.threads < 1 || h.time < 1 || h.time > maxArgonTime:
		return nil, fmt.Errorf("argon2id hash: t=%d, p=%d out of range", h.time, h.threads)
	case h.memory < 8*uint32(h.threads) || h.memory > maxArgonMemory:
		return nil, fmt.Errorf("argon2id hash: m=%d out of range (8*p to %d KiB)", h.memory, maxArgonMemory)
	}
	var err error
	if h.salt, err = decodeB64(parts[4]); err != nil || len(h.salt) < minArgonSaltLen {
		return nil, fmt.Errorf("argon2id hash: salt must be base64 of at least %d bytes", minArgonSaltLen)
	}
	if h.key, err = decodeB64(parts[5]); err != nil || len(h.key) < minArgonKeyLen || len(h.key) > maxArgonKeyLen {
		return nil, fmt.Errorf("argon2id hash: hash must be base64 of %d to %d bytes", minArgonKeyLen, maxArgonKeyLen)
	}
	return h, nil
}

// decodeB64 decodes standard base64 with or without padding.
func decodeB64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}
