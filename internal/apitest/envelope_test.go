package apitest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/zestequity/zest-api/internal/testkit"
)

// Request-level failures name the problem and touch no row.
func TestEnvelopeErrors(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{MaxBatchRows: 3, MaxBodyBytes: 4096})
		valid := rawJSON(t, row("e-1"))
		cases := []struct {
			name, contentType, body string
			status                  int
			code, detail            string
		}{
			{"malformed JSON", "application/json", `{"investors":[`, 400, "invalid_json", "not valid JSON"},
			{"trailing garbage", "application/json", `{"investors":[` + valid + `]}}`, 400, "invalid_json", ""},
			{"empty body", "application/json", ``, 400, "invalid_request", "required"},
			{"not an object", "application/json", `[` + valid + `]`, 400, "invalid_request", "JSON object"},
			{"no investors", "application/json", `{}`, 400, "invalid_request", "investors"},
			{"investors not an array", "application/json", `{"investors":{"a":1}}`, 400, "invalid_request", "array"},
			{"null investors", "application/json", `{"investors":null}`, 400, "invalid_request", "investors"},
			{"empty array", "application/json", `{"investors":[]}`, 400, "invalid_request", "investors must contain at least 1 item."},
			{"unknown top-level field", "application/json", `{"investors":[` + valid + `],"dryRun":true}`, 400, "invalid_request", "dryRun"},
			{"too many rows", "application/json", `{"investors":[` + strings.Repeat(valid+",", 3) + valid + `]}`, 400, "batch_too_large", "investors has 4 rows; at most 3"},
			{"wrong content type", "text/plain", `{"investors":[` + valid + `]}`, 415, "unsupported_media_type", "application/json"},
			{"form content type", "application/x-www-form-urlencoded", `investors=1`, 415, "unsupported_media_type", ""},
			{"too large", "application/json", `{"investors":[` + valid + `],"x":"` + strings.Repeat("a", 5000) + `"}`, 413, "payload_too_large", "4096 bytes"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				resp := e.importRawAs(t, c.contentType, c.body)
				wantProblem(t, c.status, resp.Body, resp.StatusCode(), c.code)
				if c.detail != "" && !strings.Contains(string(resp.Body), c.detail) {
					t.Errorf("detail does not mention %q: %s", c.detail, resp.Body)
				}
				if ct := resp.HTTPResponse.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("Content-Type %q", ct)
				}
			})
		}
		// A body over the limit without a Content-Length (chunked) is cut off
		// while it is read.
		req, _ := http.NewRequest(http.MethodPost, e.api.URL+"/v1/investors",
			io.MultiReader(strings.NewReader(`{"investors":[`), bytes.NewReader(bytes.Repeat([]byte(valid+","), 100)), strings.NewReader(valid+`]}`)))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1
		resp, err := e.api.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		wantProblem(t, 413, body, resp.StatusCode, "payload_too_large")

		if n := e.api.DB.Count(t, "people"); n != 0 {
			t.Errorf("%d people written by rejected requests", n)
		}
	})
}

// Unknown paths and methods answer problems, not plain text.
func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testkit.SQLite, testkit.Options{})
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/v1/nothing", 404, "not_found"},
		{http.MethodGet, "/", 404, "not_found"},
		{http.MethodGet, "/healthz/", 404, "not_found"},
		{http.MethodDelete, "/v1/investors", 405, "method_not_allowed"},
		{http.MethodPut, "/v1/investors/psn_x", 405, "method_not_allowed"},
	} {
		req, _ := http.NewRequest(c.method, e.api.URL+c.path, nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := e.api.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		wantProblem(t, c.status, body, resp.StatusCode, c.code)
		if c.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
	}
}
