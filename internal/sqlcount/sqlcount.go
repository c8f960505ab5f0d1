// Package sqlcount counts the SQL statements run on behalf of one context, so
// that the request log shows what a request cost the database: a batch of any
// size should stay at a handful. The database drivers count; the HTTP layer
// reads the count without depending on any driver.
package sqlcount

import (
	"context"
	"sync/atomic"
)

// Counter counts statements.
type Counter struct{ n atomic.Int64 }

// Count returns how many statements were counted.
func (c *Counter) Count() int64 { return c.n.Load() }

type key struct{}

// Start returns a context under which the drivers count the statements they
// run, and the counter.
func Start(ctx context.Context) (context.Context, *Counter) {
	c := &Counter{}
	return context.WithValue(ctx, key{}, c), c
}

// Add counts one statement run under ctx, if ctx is counted.
func Add(ctx context.Context) {
	if c, ok := ctx.Value(key{}).(*Counter); ok {
		c.n.Add(1)
	}
}
