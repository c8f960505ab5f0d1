package investors

import (
	"strings"
	"testing"
)

func TestPlaceholderPhone(t *testing.T) {
	a, b := PlaceholderPhone("psn_a"), PlaceholderPhone("psn_b")
	if a != PlaceholderPhone("psn_a") {
		t.Error("not deterministic")
	}
	if a == b || len(a) != 15 || !strings.HasPrefix(a, "+999") {
		t.Errorf("phones %s %s", a, b)
	}
}
