package daemon

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/mtasts"
)

// stsNamespace is the store cache namespace of MTA-STS policies.
const stsNamespace = "mta-sts"

// stsMemoLimit bounds the domains stsCache remembers in memory; beyond it
// the memory is emptied and refilled from the file as domains come up.
const stsMemoLimit = 100000

// stsCache keeps MTA-STS policies in the queue file, so that a restart
// neither forgets an enforced policy (RFC 8461 §5.1: a cached unexpired
// policy stays in force when a fetch fails) nor fetches every policy again.
// Every remote delivery asks it, so what it read from the file (a policy,
// or that there is none) is remembered in memory: the daemon is the file's
// only writer, and it writes through here.
type stsCache struct {
	st   *store.Store
	mu   sync.Mutex
	memo map[string]stsEntry
}

type stsEntry struct {
	c  mtasts.Cached
	ok bool
}

func newSTSCache(st *store.Store) *stsCache { return &stsCache{st: st, memo: map[string]stsEntry{}} }

func (c *stsCache) Load(domain string) (mtasts.Cached, bool, error) {
	c.mu.Lock()
	e, hit := c.memo[domain]
	c.mu.Unlock()
	if hit {
		return e.c, e.ok, nil
	}
	b, ok, err := c.st.CacheGet(stsNamespace, domain)
	if err != nil {
		return mtasts.Cached{}, false, err
	}
	var v mtasts.Cached
	if ok {
		if err := json.Unmarshal(b, &v); err != nil {
			return mtasts.Cached{}, false, fmt.Errorf("cached MTA-STS policy of %s: %w", domain, err)
		}
	}
	c.remember(domain, stsEntry{v, ok})
	return v, ok, nil
}

func (c *stsCache) Store(domain string, v mtasts.Cached) error {
	b, err := json.Marshal(&v) // addressable: Policy marshals as its policy file
	if err != nil {
		return fmt.Errorf("MTA-STS policy of %s: %w", domain, err)
	}
	if err := c.st.CachePut(stsNamespace, domain, b); err != nil {
		return err
	}
	c.remember(domain, stsEntry{v, true})
	return nil
}

func (c *stsCache) remember(domain string, e stsEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.memo) >= stsMemoLimit {
		clear(c.memo)
	}
	c.memo[domain] = e
}

// Domains lets mtasts.Resolver.Run refresh every stored policy after a
// restart.
func (c *stsCache) Domains() ([]string, error) { return c.st.CacheKeys(stsNamespace) }
