// Package retry holds what every retrying part of the server and its
// importer shares: reading a Retry-After, and spreading backoffs at random.
package retry

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// After reads a Retry-After field value (RFC 9110, section 10.2.3): either
// delay-seconds or an HTTP-date, which is read relative to now. It returns
// 0 for an absent or malformed value and for a date already past, and at
// most limit, so that a peer cannot hold its client back indefinitely.
func After(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if isDigits(v) {
		// Accumulate with the cap in view: a long run of digits must not
		// overflow into a negative or short delay.
		var d time.Duration
		for _, c := range v {
			d = d*10 + time.Duration(c-'0')*time.Second
			if d >= limit {
				return limit
			}
		}
		return d
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), limit)
	}
	return 0
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Jitter returns d scaled by a factor drawn uniformly from [lo, hi], so that
// clients that failed together do not retry in lockstep.
func Jitter(d time.Duration, lo, hi float64) time.Duration {
	return time.Duration(float64(d) * (lo + (hi-lo)*rand.Float64()))
}
