package mx

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxAddrs   = 10
	DefaultTimeout    = 5 * time.Second
	DefaultResolvConf = "/etc/resolv.conf"
	DefaultCacheSize  = 100000
)

// Options configures a Resolver.
type Options struct {
	Resolvers  []string      // "host:port" (config dns.resolvers); empty: read ResolvConf
	ResolvConf string        // default /etc/resolv.conf
	Me         string        // control/me: an MX named like this is this host
	LocalAddrs []netip.Addr  // this host's addresses; nil: from net.InterfaceAddrs()
	MaxAddrs   int           // cap on addresses returned per plan (default 10; Postfix's smtp_mx_address_limit is 5)
	Timeout    time.Duration // per query attempt (default 5s); the next resolver is tried on timeout/error
	Routes     Routes        // smtproutes; zero value: none
	Now        func() time.Time
	Shuffle    func(n int, swap func(i, j int)) // nil: math/rand/v2 Shuffle (tests pass a fixed one)
	CacheSize  int                              // cached answers kept (default 100,000); the oldest is evicted first

	// TrustedResolvers are resolvers whose AD bit is believed besides the
	// loopback ones (config dns.trusted_resolvers): validating resolvers
	// reached over a network the operator trusts (RFC 7672 §2.1; RFC 4035
	// §4.9.3).
	TrustedResolvers []netip.Addr
	// TrustOnlyListed believes the AD bit from TrustedResolvers only, not
	// from every loopback resolver; with an empty list no answer is secure.
	TrustOnlyListed bool
}

// Resolver plans deliveries. It is safe for concurrent use.
type Resolver struct {
	servers  []string
	trusted  []bool // per server: its AD bit is believed
	timeout  time.Duration
	me       string
	local    map[netip.Addr]bool
	maxAddrs int
	routes   Routes
	now      func() time.Time
	shuffle  func(n int, swap func(i, j int))
	cache    *cache
}

// New checks o and returns a Resolver. With no Resolvers it reads ResolvConf
// (port 53); with nil LocalAddrs it asks the operating system for this host's
// addresses.
func New(o Options) (*Resolver, error) {
	r := &Resolver{
		timeout:  o.Timeout,
		me:       normalName(o.Me),
		local:    map[netip.Addr]bool{},
		maxAddrs: o.MaxAddrs,
		routes:   o.Routes,
		now:      o.Now,
		shuffle:  o.Shuffle,
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.maxAddrs < 0 {
		return nil, fmt.Errorf("mx: MaxAddrs %d is negative", o.MaxAddrs)
	}
	if r.maxAddrs == 0 {
		r.maxAddrs = DefaultMaxAddrs
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.shuffle == nil {
		r.shuffle = rand.Shuffle
	}
	size := o.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	r.cache = newCache(size)

	servers, err := resolvers(o)
	if err != nil {
		return nil, err
	}
	r.servers = servers
	r.trusted = trustedServers(servers, o.TrustedResolvers, o.TrustOnlyListed)

	local := o.LocalAddrs
	if local == nil {
		local, err = interfaceAddrs()
		if err != nil {
			return nil, err
		}
	}
	for _, a := range local {
		r.local[a.Unmap().WithZone("")] = true
	}
	return r, nil
}

// resolvers returns the servers to ask, in order.
func resolvers(o Options) ([]string, error) {
	if len(o.Resolvers) > 0 {
		for i, s := range o.Resolvers {
			host, port, err := net.SplitHostPort(s)
			if err != nil || host == "" || port == "" {
				return nil, fmt.Errorf("mx: resolver %d %q: want host:port", i+1, s)
			}
		}
		return append([]string(nil), o.Resolvers...), nil
	}
	file := o.ResolvConf
	if file == "" {
		file = DefaultResolvConf
	}
	conf, err := dns.ClientConfigFromFile(file)
	if err != nil {
		return nil, fmt.Errorf("mx: reading %s: %w", file, err)
	}
	if len(conf.Servers) == 0 {
		return nil, fmt.Errorf("mx: %s names no nameserver", file)
	}
	var out []string
	for _, s := range conf.Servers {
		out = append(out, net.JoinHostPort(s, conf.Port))
	}
	return out, nil
}

func interfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("mx: listing this host's addresses: %w", err)
	}
	var out []netip.Addr
	for _, a := range addrs {
		var ip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if addr, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, addr.Unmap())
		}
	}
	if len(out) == 0 {
		return nil, errors.New("mx: this host has no addresses")
	}
	return out, nil
}

// normalName lower-cases name and drops one trailing dot.
func normalName(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// isLocal reports whether a is one of this host's addresses.
func (r *Resolver) isLocal(a netip.Addr) bool {
	return r.local[a.Unmap().WithZone("")]
}
