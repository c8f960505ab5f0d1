package importer_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/importer"
	"github.com/zestequity/zest-api/internal/testkit"
)

var ctx = context.Background()

// env is one test's server, tenant, client and directory.
type env struct {
	api    *testkit.API
	token  string
	client *client.ClientWithResponses
	dir    string
}

func newEnv(t *testing.T, d testkit.Dialect, opts testkit.Options) *env {
	t.Helper()
	api := testkit.NewAPI(t, d, opts)
	token := api.Tenant(t, "acme")
	return &env{api: api, token: token, client: api.Client(t, token), dir: t.TempDir()}
}

// options imports file into the env's tenant through tr, with short backoffs.
func (e *env) options(file string, tr *transport) importer.Options {
	return importer.Options{
		URL: e.api.URL, Token: e.token, File: file,
		HTTPClient: &http.Client{Transport: tr},
		Retry:      importer.Retry{BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond},
	}
}

// write creates a file of the env's directory.
func (e *env) write(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sent is one request as the importer sent it.
type sent struct {
	key  string
	pids []string
}

// transport records what the importer sends, and lets a test answer a
// request itself: fault gets the request's number (from 1) and a function
// that forwards it to the server.
type transport struct {
	next  http.RoundTripper
	fault func(n int, forward func() (*http.Response, error)) (*http.Response, error)
	mu    sync.Mutex
	sent  []sent
}

func newTransport(e *env) *transport { return &transport{next: e.api.HTTP.Transport} }

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	var decoded struct {
		Investors []struct {
			PartnerInvestorID string `json:"partnerInvestorId"`
		} `json:"investors"`
	}
	if err := json.Unmarshal(body, &decoded); err != nil {
		return nil, err
	}
	s := sent{key: req.Header.Get("Idempotency-Key")}
	for _, inv := range decoded.Investors {
		s.pids = append(s.pids, inv.PartnerInvestorID)
	}
	tr.mu.Lock()
	tr.sent = append(tr.sent, s)
	n := len(tr.sent)
	tr.mu.Unlock()
	forward := func() (*http.Response, error) {
		req.Body = io.NopCloser(bytes.NewReader(body))
		return tr.next.RoundTrip(req)
	}
	if tr.fault == nil {
		return forward()
	}
	return tr.fault(n, forward)
}

func (tr *transport) requests() []sent {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]sent(nil), tr.sent...)
}

// sentPIDs lists every partnerInvestorId sent, in order.
func (tr *transport) sentPIDs() []string {
	var out []string
	for _, s := range tr.requests() {
		out = append(out, s.pids...)
	}
	return out
}

// problem answers a request without reaching the server.
func problem(status int, code string, header ...string) *http.Response {
	body := fmt.Sprintf(`{"type":"https://docs.zestequity.com/errors/%s","title":"t","status":%d,"detail":"injected","code":%q,"errorId":"err_x","retryable":true}`, code, status, code)
	h := http.Header{"Content-Type": {"application/problem+json"}, "Request-Id": {"req_injected"}}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

// result is one line of a results file.
type result struct {
	line                                     int
	pid, status, zestPersonID, code, message string
}

func readResults(t testing.TB, path string) []result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"line", "partnerInvestorId", "status", "zestPersonId", "errorCode", "errorMessage"}
	if len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(want, ",") {
		t.Fatalf("results header: %v", recs[:min(1, len(recs))])
	}
	out := make([]result, len(recs)-1)
	for i, r := range recs[1:] {
		line, err := strconv.Atoi(r[0])
		if err != nil {
			t.Fatalf("results line %d: %v", i+2, r)
		}
		out[i] = result{line, r[1], r[2], r[3], r[4], r[5]}
	}
	return out
}

// checkIDs asks the server for every id the results report, and requires
// each to be the investor of its row.
func (e *env) checkIDs(t testing.TB, rs []result) {
	t.Helper()
	for _, r := range rs {
		if r.status != "created" && r.status != "already_exists" {
			continue
		}
		resp, err := e.client.GetInvestorWithResponse(ctx, r.zestPersonID)
		if err != nil {
			t.Fatal(err)
		}
		if resp.JSON200 == nil || resp.JSON200.PartnerInvestorId != r.pid {
			t.Errorf("line %d: %s is not %s's id: %d %s", r.line, r.zestPersonID, r.pid, resp.StatusCode(), resp.Body)
		}
	}
}

// csvRow is a valid CSV line for pid, with the country given.
func csvRow(pid, country string) string {
	return fmt.Sprintf("%s,%s@example.com,First %s,Last %s,1985-04-12,%s\n", pid, pid, pid, pid, country)
}

const csvHeader = "partnerInvestorId,email,firstName,lastName,dateOfBirth,countryOfResidence\n"

// validCSV is a file of n valid rows, inv-00000 onwards.
func validCSV(n int) string {
	var b strings.Builder
	b.WriteString(csvHeader)
	for i := range n {
		b.WriteString(csvRow(fmt.Sprintf("inv-%05d", i), "AE"))
	}
	return b.String()
}
