package apitest

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zestequity/zest-api/generated/client"
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
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
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

// Body problems name the fields of the operation's own request body, never
// those of another operation's.
func TestBodyProblemsNameTheOperationsFields(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		ep := e.endpoint(t, "https://203.0.114.10/zest")
		recoverPath := "/v1/webhook-endpoints/" + ep.Id + "/recover"
		for _, c := range []struct {
			name, path, body string
			header           http.Header
			code             string
			detail           []string
		}{
			{"endpoint extra field", "/v1/webhook-endpoints", `{"url":"https://203.0.114.10/a","extra":1}`, nil, "invalid_request", []string{`"extra"`, "url", "description"}},
			{"endpoint no body", "/v1/webhook-endpoints", "", nil, "invalid_request", []string{"required", "url"}},
			{"endpoint no url", "/v1/webhook-endpoints", `{"description":"x"}`, nil, "invalid_request", []string{"url"}},
			{"endpoint not an object", "/v1/webhook-endpoints", `[]`, nil, "invalid_request", []string{"JSON object", "url"}},
			{"endpoint url not a string", "/v1/webhook-endpoints", `{"url":1}`, nil, "invalid_request", []string{"url must be", "string"}},
			{"recover empty", recoverPath, `{}`, nil, "invalid_request", []string{"since", "date-time"}},
			{"recover since a number", recoverPath, `{"since":1}`, nil, "invalid_request", []string{"since must be", "date-time"}},
			{"recover since not a date", recoverPath, `{"since":"yesterday"}`, nil, "invalid_request", []string{"since must be", "date-time"}},
			{"recover extra field", recoverPath, `{"since":"2026-01-01T00:00:00Z","until":1}`, nil, "invalid_request", []string{`"until"`, "since"}},
			{"recover no body", recoverPath, "", nil, "invalid_request", []string{"required", "since"}},
			{"import extra field", "/v1/investors", `{"investors":[{}],"dryRun":true}`, nil, "invalid_request", []string{`"dryRun"`, "investors"}},
			{"import no body", "/v1/investors", "", nil, "invalid_request", []string{"required", "investors"}},
			{"two idempotency keys", "/v1/webhook-endpoints", `{"url":"https://203.0.114.10/b"}`,
				http.Header{"Idempotency-Key": {"k1", "k2"}}, "invalid_idempotency_key", []string{"Idempotency-Key", "once"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				resp, body := e.do(t, http.MethodPost, c.path, c.body, c.header)
				wantProblem(t, 400, body, resp.StatusCode, c.code)
				var p client.Problem
				if err := json.Unmarshal(body, &p); err != nil {
					t.Fatal(err)
				}
				for _, want := range c.detail {
					if !strings.Contains(p.Detail, want) {
						t.Errorf("detail does not mention %s: %s", want, p.Detail)
					}
				}
				for _, foreign := range []string{"investors", "rows"} {
					if !strings.HasPrefix(c.path, "/v1/investors") && strings.Contains(p.Detail, foreign) {
						t.Errorf("detail mentions %s: %s", foreign, p.Detail)
					}
				}
			})
		}
	})
}

// An IPv6 literal that embeds a forbidden IPv4 address is refused at
// registration like the IPv4 address itself.
func TestWebhookURLEmbeddingAPrivateIPv4(t *testing.T) {
	api := testkit.NewAPI(t, testkit.SQLite, testkit.Options{StrictWebhookURLs: true})
	e := &env{api: api, token: api.Tenant(t, "acme")}
	for _, host := range []string{"[::127.0.0.1]", "[::ffff:127.0.0.1]", "[::a9fe:a9fe]", "[64:ff9b::a00:1]", "[64:ff9b:1::808:808]", "[2002:7f00:1::]", "[2001:0:808:808::80ff:fffe]"} {
		resp, body := e.do(t, http.MethodPost, "/v1/webhook-endpoints", `{"url":"https://`+host+`/hook"}`, nil)
		wantProblem(t, 400, body, resp.StatusCode, "invalid_webhook_url")
	}
}

// A 401 names the Bearer scheme (RFC 6750): bare when no credentials were
// sent, with error="invalid_token" when they were refused.
func TestUnauthorizedChallenge(t *testing.T) {
	e := newEnv(t, testkit.SQLite, testkit.Options{})
	for _, c := range []struct {
		authorization []string
		want          string
	}{
		{nil, "Bearer"},
		{[]string{"Bearer not-a-token"}, `Bearer error="invalid_token"`},
		{[]string{"Basic YWxhZGRpbjpvcGVuc2VzYW1l"}, `Bearer error="invalid_token"`},
		{[]string{"Bearer"}, `Bearer error="invalid_token"`},
	} {
		for _, path := range []string{"/v1/investors", "/v1/events", "/v1/webhook-endpoints/we_x"} {
			resp, body := e.do(t, http.MethodGet, path, "", http.Header{"Authorization": c.authorization})
			wantProblem(t, 401, body, resp.StatusCode, "invalid_token")
			if got := resp.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != c.want {
				t.Errorf("GET %s with Authorization %q: WWW-Authenticate %q, want %q", path, c.authorization, got, c.want)
			}
		}
	}
	// Answers other than 401 carry no challenge.
	resp, _ := e.do(t, http.MethodGet, "/v1/investors/psn_unknown", "", nil)
	if resp.StatusCode != 404 || resp.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("404: %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// raw sends request bytes as they are, for requests no client would form,
// and returns the response.
func raw(t *testing.T, api *testkit.API, request string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(api.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// Malformed requests that reach the router are answered with problems, not
// Go's or gin's plain text.
func TestMalformedRequestsGetProblems(t *testing.T) {
	e := newEnv(t, testkit.SQLite, testkit.Options{MaxBodyBytes: 4096})
	auth := "Authorization: Bearer " + e.token + "\r\n"
	for _, c := range []struct {
		name, request string
		status        int
		code          string
	}{
		{"unknown method", "PROPFIND /v1/investors HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 405, "method_not_allowed"},
		{"unknown path", "GET /v1/investors/a/b HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 404, "not_found"},
		{"malformed chunked body", "POST /v1/investors HTTP/1.1\r\nHost: x\r\n" + auth +
			"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400, "invalid_request"},
		{"chunked body over the limit", "POST /v1/investors HTTP/1.1\r\nHost: x\r\n" + auth +
			"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1400\r\n" + strings.Repeat(" ", 0x1400) + "\r\n0\r\n\r\n", 413, "payload_too_large"},
		{"declared length over the limit", "POST /v1/investors HTTP/1.1\r\nHost: x\r\n" + auth +
			"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{}", 413, "payload_too_large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := raw(t, e.api, c.request)
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q: %s", ct, body)
			}
			wantProblem(t, c.status, body, resp.StatusCode, c.code)
		})
	}
}
