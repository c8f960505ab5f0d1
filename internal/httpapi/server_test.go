package httpapi

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

// The published contract names the configured public URL or, without one,
// the address the client reached; headers any client can forge change
// neither.
func TestServerURL(t *testing.T) {
	for _, c := range []struct {
		name, public, host, proto string
		tls                       bool
		want                      string
	}{
		{"plain", "", "api.example:8080", "", false, "http://api.example:8080"},
		{"TLS", "", "api.example:8080", "", true, "https://api.example:8080"},
		{"forwarded proto ignored", "", "api.example:8080", "https", false, "http://api.example:8080"},
		{"public URL", "https://api.zestequity.com", "api.example:8080", "", false, "https://api.zestequity.com"},
		{"public URL against a hostile Host", "https://api.zestequity.com", "evil.example", "http", true, "https://api.zestequity.com"},
		{"public http URL against a forwarded https", "http://127.0.0.1:8080", "evil.example", "https", false, "http://127.0.0.1:8080"},
	} {
		r := httptest.NewRequest("GET", "http://"+c.host+"/openapi.json", nil)
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		r.Header.Set("X-Forwarded-Host", "forwarded.example")
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := (&server{publicURL: c.public}).serverURL(r); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
