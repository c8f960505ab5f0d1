package webhooks

import "time"

// maxClaimBackoff caps the wait between claims while claiming keeps failing.
const maxClaimBackoff = 30 * time.Second

// claimBackoff is the wait after the failures-th consecutive failure to
// claim: the poll interval, doubled per failure up to maxClaimBackoff, so
// that a database that is down is neither hammered nor flooding the log.
func claimBackoff(poll time.Duration, failures int) time.Duration {
	d := poll
	for i := 1; i < failures && d < maxClaimBackoff; i++ {
		d *= 2
	}
	return min(d, maxClaimBackoff)
}
