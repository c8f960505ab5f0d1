package retry

import (
	"net/http"
	"testing"
	"time"
)

func TestAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	const limit = time.Hour
	for v, want := range map[string]time.Duration{
		"":                           0,
		"0":                          0,
		"120":                        2 * time.Minute,
		" 7 ":                        7 * time.Second,
		"3600":                       time.Hour,
		"3601":                       time.Hour,
		"99999999999999999999999999": time.Hour,
		"-5":                         0,
		"+5":                         0,
		"1.5":                        0,
		"soon":                       0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
		now.Add(48 * time.Hour).Format(http.TimeFormat):   time.Hour,
		"Fri, 27 Nov 2026 09:00:30 GMT":                   30 * time.Second,
		"Friday, 27-Nov-26 09:00:30 GMT":                  30 * time.Second, // obsolete RFC 850 form
		"Fri Nov 27 09:00:30 2026":                        30 * time.Second, // obsolete asctime form
	} {
		if got := After(v, now, limit); got != want {
			t.Errorf("After(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestJitterStaysInRange(t *testing.T) {
	seen := map[bool]bool{}
	for range 1000 {
		d := Jitter(time.Second, 0.9, 1.1)
		if d < 900*time.Millisecond || d > 1100*time.Millisecond {
			t.Fatalf("Jitter(1s, 0.9, 1.1) = %s", d)
		}
		seen[d < time.Second] = true
	}
	if len(seen) != 2 {
		t.Error("the jitter does not spread both ways")
	}
}
