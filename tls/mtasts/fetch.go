package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"time"
)

// Limits of a policy fetch.
const (
	// MaxPolicySize caps a policy body; a larger one is refused (RFC 8461
	// §3.3 lets senders limit the size; chasquid uses 10 KiB).
	MaxPolicySize = 64 << 10
	// DefaultFetchTimeout bounds a whole fetch: connect, TLS, headers and
	// body (chasquid uses 30 s).
	DefaultFetchTimeout = 30 * time.Second
)

// policyURL is where a domain publishes its policy (RFC 8461 §3.3).
func policyURL(domain string) string {
	return "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
}

// newHTTPClient returns the client that fetches policies: HTTPS only with a
// certificate for mta-sts.<domain> that chains to the system roots or one of
// extra (RFC 8461 §3.3), no proxy from the environment, no connection kept
// idle after a fetch, and no redirect followed (RFC 8461 §3.3).
func newHTTPClient(o Options, timeout time.Duration) (*http.Client, error) {
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		c.CheckRedirect = noRedirect
		return &c, nil
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		if len(o.RootCAs) == 0 {
			return nil, fmt.Errorf("mtasts: loading the system's CA certificates: %w", err)
		}
		roots = x509.NewCertPool()
	}
	for _, c := range o.RootCAs {
		roots.AddCert(c)
	}
	dial := o.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: timeout}).DialContext
	}
	tr := &http.Transport{
		DialContext:            dial,
		TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: noRedirect}, nil
}

// noRedirect makes the client return a 3xx response as it is, which fetch
// then refuses: "HTTP 3xx redirects MUST NOT be followed" (RFC 8461 §3.3).
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// errFetch marks a failed fetch.
var errFetch = errors.New("mtasts: fetching policy")

// fetch gets and parses domain's policy. Only a 200 answer with media type
// text/plain (RFC 8461 §3.2) and a body of at most MaxPolicySize is accepted.
// No HTTP cache is involved (RFC 8461 §3.3).
func fetch(ctx context.Context, client *http.Client, domain string) (*Policy, error) {
	url := policyURL(domain)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", errFetch, url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errFetch, err) // the error names the URL
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if loc := resp.Header.Get("Location"); loc != "" {
			return nil, fmt.Errorf("%w %s: HTTP status %d to %s: redirects are not followed", errFetch, url, resp.StatusCode, loc)
		}
		return nil, fmt.Errorf("%w %s: HTTP status %d", errFetch, url, resp.StatusCode)
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "text/plain" {
		return nil, fmt.Errorf("%w %s: content type %q, want text/plain", errFetch, url, ct)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("%w %s: reading body: %v", errFetch, url, err)
	}
	if len(body) > MaxPolicySize {
		return nil, fmt.Errorf("%w %s: body larger than %d bytes", errFetch, url, MaxPolicySize)
	}
	p, err := ParsePolicy(body)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", errFetch, url, err)
	}
	return p, nil
}
