// Package flight shares one call among concurrent callers that ask for the
// same thing (a DNS query, an MTA-STS policy fetch), on top of
// golang.org/x/sync/singleflight, with each caller's context respected.
package flight

import (
	"context"
	"errors"

	"golang.org/x/sync/singleflight"
)

// Group runs calls that return a T, one at a time for each key. The zero
// value is ready to use; a Group must not be copied after first use.
type Group[T any] struct {
	g singleflight.Group
}

// Do returns the result of fn for key, sharing one call among the callers
// that ask for key while it runs. The call runs with the context of the
// caller that started it, in a goroutine of the group. A caller whose ctx
// ends returns ctx.Err() at once, and the call goes on for the others; a
// caller whose own ctx is live but whose call ended because the starter's
// context did, calls again.
func (g *Group[T]) Do(ctx context.Context, key string, fn func(context.Context) (T, error)) (T, error) {
	for {
		ch := g.g.DoChan(key, func() (any, error) { return fn(ctx) })
		select {
		case r := <-ch:
			if r.Err != nil && ctx.Err() == nil && isContextErr(r.Err) {
				continue // the starter gave up, not the work
			}
			v, _ := r.Val.(T)
			return v, r.Err
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
}

// isContextErr reports whether err is a cancelled or expired context.
func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
