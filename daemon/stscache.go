package daemon

import (
	"encoding/json"
	"fmt"

	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/mtasts"
)

// stsNamespace is the store cache namespace of MTA-STS policies.
const stsNamespace = "mta-sts"

// stsCache keeps MTA-STS policies in the queue file, so that a restart
// neither forgets an enforced policy (RFC 8461 §5.1: a cached unexpired
// policy stays in force when a fetch fails) nor fetches every policy again.
type stsCache struct{ st *store.Store }

func (c stsCache) Load(domain string) (mtasts.Cached, bool, error) {
	b, ok, err := c.st.CacheGet(stsNamespace, domain)
	if err != nil || !ok {
		return mtasts.Cached{}, false, err
	}
	var v mtasts.Cached
	if err := json.Unmarshal(b, &v); err != nil {
		return mtasts.Cached{}, false, fmt.Errorf("cached MTA-STS policy of %s: %w", domain, err)
	}
	return v, true, nil
}

func (c stsCache) Store(domain string, v mtasts.Cached) error {
	b, err := json.Marshal(&v) // addressable: Policy marshals as its policy file
	if err != nil {
		return fmt.Errorf("MTA-STS policy of %s: %w", domain, err)
	}
	return c.st.CachePut(stsNamespace, domain, b)
}

// Domains lets mtasts.Resolver.Run refresh every stored policy after a
// restart.
func (c stsCache) Domains() ([]string, error) { return c.st.CacheKeys(stsNamespace) }
