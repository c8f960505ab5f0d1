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
