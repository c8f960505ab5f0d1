package periodic

import (
	"context"
	"testing"
	"time"
)

// Run steps until its context ends, and then returns.
func TestRunStepsUntilCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	done := make(chan struct{})
	go func() {
		Run(ctx, time.Millisecond, func(context.Context) {
			if steps++; steps == 3 {
				cancel()
			}
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if steps != 3 {
		t.Errorf("%d steps, want 3", steps)
	}
}
