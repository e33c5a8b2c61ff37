package mtasts

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Cached is a policy as the cache keeps it (RFC 8461 §5.1).
type Cached struct {
	Policy  Policy
	ID      string    // the id of the TXT record the policy was fetched for
	Fetched time.Time // when the policy was last fetched
	Expires time.Time // Fetched plus the policy's max_age
}

// Cache keeps the policies of domains between lookups and, in the daemon,
// across restarts. Domains are lower case A-labels without trailing dot.
// Implementations must be safe for concurrent use.
type Cache interface {
	// Load returns the cached policy of domain; false when there is none.
	Load(domain string) (Cached, bool, error)
	// Store replaces the cached policy of domain.
	Store(domain string, c Cached) error
}

// Lister is a Cache that can list its domains. Run refreshes every domain of
// a Cache that is a Lister; otherwise it refreshes the domains looked up since
// New.
type Lister interface {
	Domains() ([]string, error)
}

// MemoryCache is a Cache in memory, for tests and for a daemon that is happy
// to fetch policies again after a restart. Expired policies are dropped when
// another is stored. The zero value is ready to use.
type MemoryCache struct {
	mu sync.Mutex
	m  map[string]Cached
}

// Load returns the cached policy of domain.
func (c *MemoryCache) Load(domain string) (Cached, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[strings.ToLower(domain)]
	if ok {
		v.Policy.MX = slices.Clone(v.Policy.MX)
	}
	return v, ok, nil
}

// Store replaces the cached policy of domain and drops expired ones.
func (c *MemoryCache) Store(domain string, v Cached) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]Cached{}
	}
	for d, old := range c.m {
		if !old.Expires.After(v.Fetched) {
			delete(c.m, d)
		}
	}
	v.Policy.MX = slices.Clone(v.Policy.MX)
	c.m[strings.ToLower(domain)] = v
	return nil
}

// Domains lists the cached domains, sorted.
func (c *MemoryCache) Domains() ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.m))
	for d := range c.m {
		out = append(out, d)
	}
	slices.Sort(out)
	return out, nil
}
