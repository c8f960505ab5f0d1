package webhooks

import (
	"testing"
	"time"
)

// Consecutive failed claims wait twice as long each time, from the poll
// interval up to the cap; the loop resets the count on a success.
func TestClaimBackoff(t *testing.T) {
	const poll = 100 * time.Millisecond
	want := []time.Duration{
		100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 3200 * time.Millisecond, 6400 * time.Millisecond, 12800 * time.Millisecond,
		25600 * time.Millisecond, 30 * time.Second, 30 * time.Second,
	}
	for i, w := range want {
		if got := claimBackoff(poll, i+1); got != w {
			t.Errorf("after %d failures: wait %s, want %s", i+1, got, w)
		}
	}
	if got := claimBackoff(poll, 1000); got != maxClaimBackoff {
		t.Errorf("after 1000 failures: wait %s, want %s", got, maxClaimBackoff)
	}
	// Ten seconds of a database that is down cost a handful of lines, not
	// one per poll.
	var lines int
	for elapsed := time.Duration(0); elapsed < 10*time.Second; elapsed += claimBackoff(poll, lines) {
		lines++
	}
	if lines > 8 {
		t.Errorf("%d log lines in 10 s of failed claims; want at most 8", lines)
	}
}
