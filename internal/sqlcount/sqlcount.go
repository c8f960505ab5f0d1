// Package sqlcount counts the SQL statements run on behalf of one context,
// and the time they took, so that the request log shows what a request cost
// the database: a batch of any size should stay at a handful of statements,
// and a request's latency splits into the time in its statements and the
// server's own. The database drivers count; the HTTP layer reads the count
// without depending on any driver.
package sqlcount

import (
	"context"
	"sync/atomic"
	"time"
)

// Counter counts statements and their time.
type Counter struct {
	n       atomic.Int64
	elapsed atomic.Int64 // nanoseconds
}

// Count returns how many statements were counted.
func (c *Counter) Count() int64 { return c.n.Load() }

// Elapsed returns the time the counted statements took, summed: from the
// driver starting each (encoding its parameters) to its last row read.
func (c *Counter) Elapsed() time.Duration { return time.Duration(c.elapsed.Load()) }

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

// AddTime adds the time a statement run under ctx took, if ctx is counted.
func AddTime(ctx context.Context, d time.Duration) {
	if c, ok := ctx.Value(key{}).(*Counter); ok {
		c.elapsed.Add(int64(d))
	}
}
