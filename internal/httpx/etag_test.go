package httpx

import "testing"

func TestETag(t *testing.T) {
	a, b := ETag([]byte("openapi: 3.0.3\n")), ETag([]byte("openapi: 3.0.4\n"))
	if a == b {
		t.Fatalf("different bodies share the tag %s", a)
	}
	if a != ETag([]byte("openapi: 3.0.3\n")) {
		t.Fatal("the same body got another tag")
	}
	if len(a) < 3 || a[0] != '"' || a[len(a)-1] != '"' {
		t.Fatalf("%s is not a quoted entity tag", a)
	}
}

func TestETagMatches(t *testing.T) {
	tag := ETag([]byte("x"))
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
		if got := ETagMatches(c.header, tag); got != c.want {
			t.Errorf("ETagMatches(%q, %s) = %v, want %v", c.header, tag, got, c.want)
		}
	}
}
