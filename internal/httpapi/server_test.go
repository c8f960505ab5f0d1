package httpapi

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

// The published contract names the address the client reached.
func TestServerURL(t *testing.T) {
	for _, c := range []struct {
		name, proto string
		tls         bool
		want        string
	}{
		{"plain", "", false, "http://api.example:8080"},
		{"TLS", "", true, "https://api.example:8080"},
		{"behind a TLS proxy", "https", false, "https://api.example:8080"},
		{"proxy header in capitals", "HTTPS", false, "https://api.example:8080"},
		{"first of a chain of proxies", "https, http", false, "https://api.example:8080"},
		{"plain behind a proxy", "http", false, "http://api.example:8080"},
		{"not a scheme", "ftp", false, "http://api.example:8080"},
	} {
		r := httptest.NewRequest("GET", "http://api.example:8080/openapi.json", nil)
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := serverURL(r); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
