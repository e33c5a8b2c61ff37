package mx

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// cacheKey is a lower-case fully qualified name and a query type.
type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	key     cacheKey
	ans     answer
	expires time.Time
}

// call is one query in flight that later identical lookups wait for.
type call struct {
	done chan struct{}
	ans  answer
	err  error
}

// cache keeps answers until they expire, at most size of them (the oldest
// inserted is evicted first), and shares one query among concurrent identical
// lookups. Safe for concurrent use.
type cache struct {
	mu       sync.Mutex
	size     int
	entries  map[cacheKey]*list.Element // of *cacheEntry
	order    *list.List                 // oldest first
	inflight map[cacheKey]*call
}

func newCache(size int) *cache {
	return &cache{
		size:     size,
		entries:  map[cacheKey]*list.Element{},
		order:    list.New(),
		inflight: map[cacheKey]*call{},
	}
}

// get returns the answer for key fetched by fetch, from the cache if it is
// fresh at now, else from a query already in flight, else by calling fetch.
// Temporary failures are not cached. A waiter whose leader was cancelled
// retries with its own context.
func (c *cache) get(ctx context.Context, key cacheKey, now func() time.Time,
	fetch func(context.Context) (answer, time.Duration, error)) (answer, error) {
	for {
		c.mu.Lock()
		if el, ok := c.entries[key]; ok {
			e := el.Value.(*cacheEntry)
			if now().Before(e.expires) {
				c.mu.Unlock()
				return e.ans, nil
			}
			c.order.Remove(el)
			delete(c.entries, key)
		}
		if cl, ok := c.inflight[key]; ok {
			c.mu.Unlock()
			select {
			case <-cl.done:
			case <-ctx.Done():
				return answer{}, ctx.Err()
			}
			if cl.err != nil && ctx.Err() == nil && isContextErr(cl.err) {
				continue // the leader gave up, not the DNS
			}
			return cl.ans, cl.err
		}
		cl := &call{done: make(chan struct{})}
		c.inflight[key] = cl
		c.mu.Unlock()

		ans, ttl, err := fetch(ctx)
		cl.ans, cl.err = ans, err

		c.mu.Lock()
		delete(c.inflight, key)
		if err == nil && ttl > 0 {
			c.put(key, ans, now().Add(ttl))
		}
		c.mu.Unlock()
		close(cl.done)
		return ans, err
	}
}

// put stores an answer; called with c.mu held.
func (c *cache) put(key cacheKey, ans answer, expires time.Time) {
	if el, ok := c.entries[key]; ok {
		c.order.Remove(el)
	}
	c.entries[key] = c.order.PushBack(&cacheEntry{key: key, ans: ans, expires: expires})
	for c.order.Len() > c.size {
		oldest := c.order.Front()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).key)
	}
}

// len returns the number of cached answers, fresh or not.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
