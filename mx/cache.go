package mx

import (
	"container/list"
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/qsend/qsend/internal/flight"
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

// cache keeps answers until they expire, at most size of them (the oldest
// inserted is evicted first), and shares one query among concurrent identical
// lookups. Safe for concurrent use.
type cache struct {
	mu      sync.Mutex
	size    int
	entries map[cacheKey]*list.Element // of *cacheEntry
	order   *list.List                 // oldest first
	flights flight.Group[answer]       // queries in flight, by cacheKey.flight
}

func newCache(size int) *cache {
	return &cache{
		size:    size,
		entries: map[cacheKey]*list.Element{},
		order:   list.New(),
	}
}

// flight is the key's name in the group of queries in flight.
func (k cacheKey) flight() string {
	return strconv.Itoa(int(k.qtype)) + " " + k.name
}

// get returns the answer for key fetched by fetch, from the cache if it is
// fresh at now, else from a query already in flight, else by calling fetch.
// Temporary failures are not cached. The query runs under the context of
// the lookup that started it; a lookup whose context ends returns at once,
// and one that waited for a query whose starter gave up asks again with
// its own context.
func (c *cache) get(ctx context.Context, key cacheKey, now func() time.Time,
	fetch func(context.Context) (answer, time.Duration, error)) (answer, error) {
	if ans, ok := c.fresh(key, now()); ok {
		return ans, nil
	}
	return c.flights.Do(ctx, key.flight(), func(ctx context.Context) (answer, error) {
		// A query that ended since the look above has cached its answer.
		if ans, ok := c.fresh(key, now()); ok {
			return ans, nil
		}
		ans, ttl, err := fetch(ctx)
		if err == nil && ttl > 0 {
			c.mu.Lock()
			c.put(key, ans, now().Add(ttl))
			c.mu.Unlock()
		}
		return ans, err
	})
}

// fresh returns the cached answer for key if it has not expired at now,
// and forgets one that has.
func (c *cache) fresh(key cacheKey, now time.Time) (answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return answer{}, false
	}
	e := el.Value.(*cacheEntry)
	if now.Before(e.expires) {
		return e.ans, true
	}
	c.order.Remove(el)
	delete(c.entries, key)
	return answer{}, false
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
