package paging

import "testing"

func TestRoundTrip(t *testing.T) {
	for _, key := range []int64{1, 42, 1 << 62} {
		got, ok := Decode(Encode(key))
		if !ok || got != key {
			t.Errorf("round trip of %d gave %d %v", key, got, ok)
		}
	}
}

func TestRejects(t *testing.T) {
	for _, c := range []string{"", "c1_", "c2_MQ", "c1_MA", "c1_LTE", "c1_MDE", "c1_YQ", "c1_%%"} {
		if _, ok := Decode(c); ok {
			t.Errorf("cursor %q accepted", c)
		}
	}
}

func TestPage(t *testing.T) {
	id := func(n int64) int64 { return n }
	page, next := Page([]int64{1, 2, 3}, 2, id)
	if len(page) != 2 || next == nil {
		t.Fatalf("a full page and one more row: %v %v", page, next)
	}
	if key, ok := Decode(*next); !ok || key != 2 {
		t.Errorf("cursor after %d, want 2", key)
	}
	for _, rows := range [][]int64{nil, {1}, {1, 2}} {
		if page, next := Page(rows, 2, id); len(page) != len(rows) || next != nil {
			t.Errorf("last page %v: %v %v", rows, page, next)
		}
	}
}
