package apitest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/testkit"
)

// Bytes that are not UTF-8 are refused, never stored as U+FFFD: inside an
// import row they fail that row alone, naming the field; anywhere else they
// fail the request, naming where.
func TestBodiesThatAreNotUTF8(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		good := rawJSON(t, row("utf8-ok"))
		badEmail := strings.Replace(rawJSON(t, row("utf8-email")), `"utf8-email@`, "\"utf8-\xff@", 1)
		badName := strings.Replace(rawJSON(t, row("utf8-name")), `"First utf8-name"`, "\"Jos\xe9\"", 1)
		badPid := strings.Replace(rawJSON(t, row("utf8-pid")), `"partnerInvestorId":"utf8-pid"`, "\"partnerInvestorId\":\"utf8-\xc3\x28\"", 1)
		badKey := strings.Replace(rawJSON(t, row("utf8-key")), `"lastName"`, "\"last\xffName\"", 1)
		res := e.importRawRows(t, good, badEmail, badName, badPid, badKey)
		wantRow(t, res, 0, client.RowStatusCreated, "", "")
		wantRow(t, res, 1, client.RowStatusFailed, client.RowErrorCodeFormat, "email")
		wantRow(t, res, 2, client.RowStatusFailed, client.RowErrorCodeFormat, "firstName")
		wantRow(t, res, 3, client.RowStatusFailed, client.RowErrorCodeFormat, "partnerInvestorId")
		wantRow(t, res, 4, client.RowStatusFailed, client.RowErrorCodeFormat, "")
		if got := res.Summary; got.Created != 1 || got.Failed != 4 {
			t.Errorf("summary %+v", got)
		}
		for _, r := range res.Results {
			if (r.PartnerInvestorId != nil && strings.ContainsRune(*r.PartnerInvestorId, '\uFFFD')) || (r.Error != nil && strings.ContainsRune(r.Error.Message, '\uFFFD')) {
				t.Errorf("a result echoes U+FFFD: %s", rawJSON(t, r))
			}
		}

		resp, body := e.do(t, "POST", "/v1/webhook-endpoints", "{\"url\":\"https://example.com/h\",\"description\":\"caf\xe9\"}", nil)
		wantProblem(t, 400, body, resp.StatusCode, "invalid_json")
		if !strings.Contains(string(body), "/description") {
			t.Errorf("the problem does not name /description: %s", body)
		}
		resp, body = e.do(t, "POST", "/v1/investors", "{\"investors\":[],\"x\xff\":1}", nil)
		wantProblem(t, 400, body, resp.StatusCode, "invalid_json")

		for _, ct := range []string{"application/json; charset=latin1", "application/json; charset=ISO-8859-1"} {
			resp, body = e.do(t, "POST", "/v1/investors", `{"investors":[`+good+`]}`, http.Header{"Content-Type": {ct}})
			wantProblem(t, 415, body, resp.StatusCode, "unsupported_media_type")
			if !strings.Contains(string(body), "UTF-8") {
				t.Errorf("the 415 does not say UTF-8 is accepted: %s", body)
			}
		}
		resp, body = e.do(t, "POST", "/v1/investors", `{"investors":[`+rawJSON(t, row("utf8-cs"))+`]}`, http.Header{"Content-Type": {"application/json; charset=UTF-8"}})
		if resp.StatusCode != 200 {
			t.Errorf("charset=UTF-8: status %d: %s", resp.StatusCode, body)
		}
	})
}

// rawExchange writes a request on a fresh connection and reads the status
// line and headers of the answer.
func rawExchange(t *testing.T, url, request string) (*http.Response, io.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer before the declared body was sent: %v", err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp, br
}

// A route that takes no body answers without reading the one it is sent
// (nor waiting for it), and closes the connection; so does a route that
// refuses the client before its body is read.
func TestUnreadBodies(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		host := strings.TrimPrefix(e.api.URL, "http://")
		for _, c := range []struct {
			name, request string
			status        int
		}{
			{"healthz", "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 4194304\r\n\r\n", 200},
			{"openapi.yaml", "GET /openapi.yaml HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 4194304\r\n\r\n", 200},
			{"chunked healthz", "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n", 200},
			{"unauthenticated import", "POST /v1/investors HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: 4194304\r\n\r\n{", 401},
			{"unknown path", "POST /nowhere HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 4194304\r\n\r\n", 404},
		} {
			t.Run(c.name, func(t *testing.T) {
				resp, rest := rawExchange(t, e.api.URL, c.request)
				if resp.StatusCode != c.status {
					t.Errorf("status %d, want %d", resp.StatusCode, c.status)
				}
				if !resp.Close {
					t.Error("the connection stays open behind an unread body")
				}
				if _, err := io.Copy(io.Discard, rest); err != nil {
					t.Errorf("the server did not close the connection: %v", err)
				}
			})
		}
	})
}

// The bodies a process holds at once are capped: beyond the cap a request
// is told to retry, before its body is read.
func TestInflightBodyBytes(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		// A budget below one large body makes the refusal certain, with no
		// race against a second request that would hold the rest.
		e := newEnv(t, d, testkit.Options{MaxBodyBytes: 64 << 10, MaxInflightBodyBytes: 40 << 10})
		big := `{"investors":[` + rawJSON(t, row("inflight")) + `]` + strings.Repeat(" ", 50<<10) + `}`
		small := `{"investors":[` + rawJSON(t, row("inflight")) + `]}`
		// The client waits for the server's go-ahead before sending the body:
		// a server that refuses before reading closes the connection, and a
		// client still writing the body would see a reset, not the 503.
		expect := http.Header{"Expect": {"100-continue"}}
		for range 3 {
			resp, body := e.do(t, "POST", "/v1/investors", big, expect)
			wantProblem(t, 503, body, resp.StatusCode, "service_unavailable")
			if resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			// What a refused body reserved is given back: a body within the
			// budget still passes.
			if resp, body := e.do(t, "POST", "/v1/investors", small, nil); resp.StatusCode != 200 {
				t.Errorf("a body within the budget: status %d: %s", resp.StatusCode, body)
			}
		}
	})
}

// A tenant over its rate is refused with 429 and the rate limit headers,
// and another tenant is not affected.
func TestRateLimitPerTenant(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{RateLimit: 0.5, RateBurst: 3})
		other := e.api.Tenant(t, "other")
		var last *http.Response
		var body []byte
		for i := range 4 {
			last, body = e.do(t, "GET", "/v1/investors", "", nil)
			if i < 3 && last.StatusCode != 200 {
				t.Fatalf("request %d within the burst: status %d: %s", i, last.StatusCode, body)
			}
		}
		wantProblem(t, 429, body, last.StatusCode, "rate_limited")
		for _, h := range []string{"Retry-After", "RateLimit", "RateLimit-Policy"} {
			if last.Header.Get(h) == "" {
				t.Errorf("429 without %s", h)
			}
		}
		if got := last.Header.Get("RateLimit-Policy"); got != `"tenant";q=3;w=6` {
			t.Errorf("RateLimit-Policy %q", got)
		}
		if got := last.Header.Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After %q, want 2", got)
		}
		resp, body := e.do(t, "GET", "/v1/investors", "", http.Header{"Authorization": {"Bearer " + other}})
		if resp.StatusCode != 200 {
			t.Errorf("another tenant: status %d: %s", resp.StatusCode, body)
		}
		// Unauthenticated routes are not limited.
		if resp, _ := e.do(t, "GET", "/healthz", "", nil); resp.StatusCode != 200 {
			t.Errorf("healthz: status %d", resp.StatusCode)
		}
	})
}

// A tenant's imports beyond the cap are refused with 429 while the others
// run; another tenant's import is not affected.
func TestConcurrentImportsPerTenant(t *testing.T) {
	// Not in parallel with the rest: the held import must get through
	// authentication before the tries below, which a loaded machine can
	// delay past any fixed wait.
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		e := newEnv(t, d, testkit.Options{MaxConcurrentImports: 1})
		other := e.api.Tenant(t, "other")
		host := strings.TrimPrefix(e.api.URL, "http://")
		body := `{"investors":[` + rawJSON(t, row("cap-0")) + `]}`
		// An import whose body is still arriving is running.
		hold := func() net.Conn {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "POST /v1/investors HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				host, e.token, len(body), body[:1])
			return conn
		}
		conn := hold()
		defer func() { conn.Close() }()
		var resp *http.Response
		var got []byte
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			// Until the held import holds the tenant's slot.
			resp, got = e.do(t, "POST", "/v1/investors", `{"investors":[`+rawJSON(t, row("cap-1"))+`]}`, nil)
			if resp.StatusCode == 429 || time.Now().After(deadline) {
				break
			}
			// The held import reached the cap while this one held the
			// slot, and was refused: hold another.
			conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			if n, _ := conn.Read(make([]byte, 1)); n > 0 {
				conn.Close()
				conn = hold()
			}
			conn.SetReadDeadline(time.Time{})
		}
		wantProblem(t, 429, got, resp.StatusCode, "rate_limited")
		if resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			resp, got := e.do(t, "POST", "/v1/investors", `{"investors":[`+rawJSON(t, row("cap-other"))+`]}`,
				http.Header{"Authorization": {"Bearer " + other}})
			if resp.StatusCode != 200 {
				t.Errorf("another tenant's import: status %d: %s", resp.StatusCode, got)
			}
		})
		wg.Wait()
		if _, err := conn.Write([]byte(body[1:])); err != nil {
			t.Fatal(err)
		}
		first, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		var res client.ImportInvestorsResult
		if err := json.NewDecoder(first.Body).Decode(&res); err != nil || first.StatusCode != 200 {
			t.Fatalf("the running import: status %d, %v", first.StatusCode, err)
		}
		if resp, got := e.do(t, "POST", "/v1/investors", `{"investors":[`+rawJSON(t, row("cap-1"))+`]}`, nil); resp.StatusCode != 200 {
			t.Errorf("after the running import ended: status %d: %s", resp.StatusCode, got)
		}
	})
}
