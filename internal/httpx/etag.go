package httpx

// Content that is served whole is tagged so that If-None-Match can be
// answered: a client holding a current copy gets a 304 instead of the body.

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// ETag returns the strong entity tag of body, a digest of its bytes: equal
// bodies get equal tags, whichever process serves them.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// ETagMatches reports whether an If-None-Match header value names tag, or is
// "*". If-None-Match compares weakly (RFC 9110, section 13.1.2): a W/ prefix
// on either side is ignored.
func ETagMatches(ifNoneMatch, tag string) bool {
	tag = strings.TrimPrefix(tag, "W/")
	for t := range strings.SplitSeq(ifNoneMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || (t != "" && strings.TrimPrefix(t, "W/") == tag) {
			return true
		}
	}
	return false
}
