package apitest

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/internal/store"
	"github.com/zestequity/zest-api/internal/testkit"
)

// do sends a request through the validating client, with the tenant's token
// unless header sets another Authorization.
func (e *env) do(t *testing.T, method, path, body string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.api.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.api.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// A NUL or a byte sequence that is not UTF-8 in a parameter is the client's
// mistake: a 400 naming the parameter, or a 404 for an id no resource can
// have, never a retryable 500.
func TestParametersThatAreNotText(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d store.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		for _, bad := range []string{"%00", "%FF", "%C3%28", "a%00b"} {
			for _, c := range []struct {
				method, path, body string
				status             int
				code, detail       string
			}{
				{"GET", "/v1/investors?partnerInvestorId=" + bad, "", 400, "invalid_request", "partnerInvestorId"},
				{"GET", "/v1/investors?limit=5&cursor=" + bad, "", 400, "invalid_request", "cursor"},
				{"GET", "/v1/investors/" + bad, "", 404, "not_found", ""},
				{"GET", "/v1/webhook-endpoints/" + bad, "", 404, "not_found", ""},
				{"DELETE", "/v1/webhook-endpoints/" + bad, "", 404, "not_found", ""},
				{"POST", "/v1/webhook-endpoints/" + bad + "/rotate-secret", "", 404, "not_found", ""},
				{"POST", "/v1/webhook-endpoints/" + bad + "/recover", `{"since":"2026-01-01T00:00:00Z"}`, 404, "not_found", ""},
				{"GET", "/v1/events/" + bad, "", 404, "not_found", ""},
			} {
				t.Run(c.method+" "+c.path, func(t *testing.T) {
					resp, body := e.do(t, c.method, c.path, c.body, nil)
					wantProblem(t, c.status, body, resp.StatusCode, c.code)
					if !strings.Contains(string(body), c.detail) {
						t.Errorf("detail does not name %s: %s", c.detail, body)
					}
				})
			}
		}
	})
}
