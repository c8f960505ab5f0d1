package etag

import "testing"

func TestOf(t *testing.T) {
	a, b := Of([]byte("openapi: 3.0.3\n")), Of([]byte("openapi: 3.0.4\n"))
	if a == b {
		t.Fatalf("different bodies share the tag %s", a)
	}
	if a != Of([]byte("openapi: 3.0.3\n")) {
		t.Fatal("the same body got another tag")
	}
	if len(a) < 3 || a[0] != '"' || a[len(a)-1] != '"' {
		t.Fatalf("%s is not a quoted entity tag", a)
	}
}

func TestMatches(t *testing.T) {
	tag := Of([]byte("x"))
	for _, c := range []struct {
		header string
		want   bool
	}{
		{tag, true},
		{"W/" + tag, true},
		{`"other", ` + tag, true},
		{`"other" ,W/` + tag + ` , "more"`, true},
		{"*", true},
		{"", false},
		{`"other"`, false},
		{tag[1 : len(tag)-1], false}, // unquoted
		{",", false},
	} {
		if got := Matches(c.header, tag); got != c.want {
			t.Errorf("Matches(%q, %s) = %v, want %v", c.header, tag, got, c.want)
		}
	}
}
