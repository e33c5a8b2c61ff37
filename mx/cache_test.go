package mx

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestCacheCancelledLookups: a lookup that gives up does not fail the
// others waiting for the same query, whether it started the query or
// joined it.
func TestCacheCancelledLookups(t *testing.T) {
	key := cacheKey{name: "example.test.", qtype: 1}
	want := answer{kind: found, target: "example.test."}

	t.Run("waiter gives up", func(t *testing.T) {
		c := newCache(10)
		release := make(chan struct{})
		var queries atomic.Int32
		fetch := func(ctx context.Context) (answer, time.Duration, error) {
			queries.Add(1)
			<-release
			return want, time.Minute, nil
		}
		started := make(chan answer, 1)
		go func() {
			ans, _ := c.get(context.Background(), key, time.Now, fetch)
			started <- ans
		}()
		for queries.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.get(ctx, key, time.Now, fetch); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled waiter: %v", err)
		}
		close(release)
		if ans := <-started; ans.target != want.target {
			t.Fatalf("the starter got %+v", ans)
		}
		if n := queries.Load(); n != 1 {
			t.Fatalf("%d queries, want 1", n)
		}
	})

	t.Run("starter gives up", func(t *testing.T) {
		c := newCache(10)
		var queries atomic.Int32
		fetch := func(ctx context.Context) (answer, time.Duration, error) {
			if queries.Add(1) == 1 {
				<-ctx.Done()
				return answer{}, 0, ctx.Err()
			}
			return want, time.Minute, nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		gaveUp := make(chan error, 1)
		go func() {
			_, err := c.get(ctx, key, time.Now, fetch)
			gaveUp <- err
		}()
		for queries.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		waited := make(chan answer, 1)
		go func() {
			ans, err := c.get(context.Background(), key, time.Now, fetch)
			if err != nil {
				t.Errorf("waiter: %v", err)
			}
			waited <- ans
		}()
		time.Sleep(20 * time.Millisecond) // the waiter joins the first query
		cancel()
		if err := <-gaveUp; !errors.Is(err, context.Canceled) {
			t.Fatalf("starter: %v", err)
		}
		if ans := <-waited; ans.target != want.target {
			t.Fatalf("the waiter got %+v", ans)
		}
		if n := queries.Load(); n != 2 {
			t.Fatalf("%d queries, want 2 (the waiter asks again)", n)
		}
	})
}
