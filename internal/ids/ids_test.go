package ids

import (
	"encoding/binary"
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

// Ids made over several milliseconds carry the millisecond they were made
// in, and each sorts after every id made before it, in the same millisecond
// or an earlier one.
func TestSortedIDsCarryTheirMillisecond(t *testing.T) {
	start := time.Now().UnixMilli()
	var got []string
	for deadline := time.Now().Add(time.Second); time.Now().UnixMilli() < start+3; {
		if time.Now().After(deadline) {
			t.Fatal("the clock did not pass three milliseconds in a second")
		}
		before := time.Now().UnixMilli()
		id := Sorted("psn_")
		after := time.Now().UnixMilli()
		b, err := sortable.DecodeString(id[len("psn_"):])
		if err != nil || len(b) != 22 {
			t.Fatalf("id %q does not decode to 22 bytes: %v", id, err)
		}
		var ms [8]byte
		copy(ms[2:], b[:6])
		if at := int64(binary.BigEndian.Uint64(ms[:])); at < before || at > after {
			t.Fatalf("id %q made at %d to %d carries %d", id, before, after, at)
		}
		got = append(got, id)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("id %d, %q, does not sort after %q", i, got[i], got[i-1])
		}
	}
}

func TestNew(t *testing.T) {
	if !regexp.MustCompile(`^req_[a-z2-7]{26}$`).MatchString(New("req_")) {
		t.Error(New("req_"))
	}
}
