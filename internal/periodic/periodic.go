// Package periodic runs the background chores (sweeping keys, completing
// pairs, logging dispatcher stats) on one loop, so that each chore is only
// its step: the step is what tests call, on a test clock.
package periodic

import (
	"context"
	"time"
)

// Run calls step every interval, the first time one interval after the
// start, until ctx ends.
func Run(ctx context.Context, every time.Duration, step func(context.Context)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			step(ctx)
		}
	}
}
