package ids

import (
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestSortedIDsSortByTime(t *testing.T) {
	var got []string
	for range 5 {
		got = append(got, Sorted("psn_"))
		time.Sleep(2 * time.Millisecond)
	}
	if !slices.IsSorted(got) {
		t.Errorf("not in creation order: %v", got)
	}
	if !regexp.MustCompile(`^psn_[0-9a-z]{36}$`).MatchString(got[0]) {
		t.Errorf("id %q", got[0])
	}
	if a, b := Sorted("x_"), Sorted("x_"); a == b {
		t.Error("two ids in the same millisecond are equal")
	}
}

func TestNew(t *testing.T) {
	if !regexp.MustCompile(`^req_[a-z2-7]{26}$`).MatchString(New("req_")) {
		t.Error(New("req_"))
	}
}
