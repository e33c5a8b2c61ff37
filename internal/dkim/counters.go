package dkim

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Counters count signed messages by domain and signing failures. The zero
// value is ready; its methods may be called concurrently.
type Counters struct {
	mu       sync.Mutex
	byDomain map[string]int64
	failures atomic.Int64
}

func (c *Counters) signed(domain string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byDomain == nil {
		c.byDomain = map[string]int64{}
	}
	c.byDomain[domain]++
}

func (c *Counters) failed() { c.failures.Add(1) }

// Signed calls fn with each domain and the messages signed for it, in
// the order of the domains' names.
func (c *Counters) Signed(fn func(domain string, n int64)) {
	c.mu.Lock()
	names := make([]string, 0, len(c.byDomain))
	for d := range c.byDomain {
		names = append(names, d)
	}
	counts := make(map[string]int64, len(c.byDomain))
	for d, n := range c.byDomain {
		counts[d] = n
	}
	c.mu.Unlock()
	sort.Strings(names)
	for _, d := range names {
		fn(d, counts[d])
	}
}

// Failures returns how many messages went out unsigned because signing
// failed.
func (c *Counters) Failures() int64 { return c.failures.Load() }
