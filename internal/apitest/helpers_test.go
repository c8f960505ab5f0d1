package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/testkit"
)

var ctx = context.Background()

// env is one test's server, tenant and client.
type env struct {
	api    *testkit.API
	token  string
	client *client.ClientWithResponses
}

func newEnv(t *testing.T, d testkit.Dialect, opts testkit.Options) *env {
	t.Helper()
	api := testkit.NewAPI(t, d, opts)
	token := api.Tenant(t, "acme")
	return &env{api: api, token: token, client: api.Client(t, token)}
}

func date(s string) openapi_types.Date {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return openapi_types.Date{Time: d}
}

func ptr[T any](v T) *T { return &v }

// row returns a valid row for pid.
func row(pid string) client.InvestorInput {
	return client.InvestorInput{
		PartnerInvestorId:  pid,
		Email:              openapi_types.Email(pid + "@example.com"),
		FirstName:          "First " + pid,
		LastName:           "Last " + pid,
		DateOfBirth:        date("1985-04-12"),
		CountryOfResidence: ptr("AE"),
	}
}

func rowsFor(prefix string, n int) []client.InvestorInput {
	out := make([]client.InvestorInput, n)
	for i := range out {
		out[i] = row(fmt.Sprintf("%s-%04d", prefix, i))
	}
	return out
}

// importRows posts typed rows and requires a 200.
func (e *env) importRows(t testing.TB, rows ...client.InvestorInput) client.ImportInvestorsResult {
	t.Helper()
	resp, err := e.client.ImportInvestorsWithResponse(ctx, nil, client.ImportInvestorsJSONRequestBody{Investors: rows})
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("import: status %d, body %s", resp.StatusCode(), resp.Body)
	}
	if len(resp.JSON200.Results) != len(rows) {
		t.Fatalf("import: %d results for %d rows", len(resp.JSON200.Results), len(rows))
	}
	return *resp.JSON200
}

// importRaw posts a raw body as JSON.
func (e *env) importRaw(t testing.TB, body string) *client.ImportInvestorsResponse {
	t.Helper()
	return e.importRawAs(t, "application/json", body)
}

func (e *env) importRawAs(t testing.TB, contentType, body string) *client.ImportInvestorsResponse {
	t.Helper()
	resp, err := e.client.ImportInvestorsWithBodyWithResponse(ctx, nil, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// importRawRows posts raw JSON rows and requires a 200.
func (e *env) importRawRows(t testing.TB, rows ...string) client.ImportInvestorsResult {
	t.Helper()
	resp := e.importRaw(t, `{"investors":[`+strings.Join(rows, ",")+`]}`)
	if resp.JSON200 == nil {
		t.Fatalf("import: status %d, body %s", resp.StatusCode(), resp.Body)
	}
	if len(resp.JSON200.Results) != len(rows) {
		t.Fatalf("import: %d results for %d rows", len(resp.JSON200.Results), len(rows))
	}
	return *resp.JSON200
}

func (e *env) get(t testing.TB, id string) client.Investor {
	t.Helper()
	resp, err := e.client.GetInvestorWithResponse(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("get %s: status %d, body %s", id, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

func rawJSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantStatus checks one row's status and, for failures, its code and field.
func wantRow(t testing.TB, res client.ImportInvestorsResult, i int, status client.RowStatus, code client.RowErrorCode, field string) {
	t.Helper()
	r := res.Results[i]
	if r.Status != status {
		t.Errorf("row %d: status %s, want %s (%s)", i, r.Status, status, rawJSON(t, r))
		return
	}
	switch status {
	case client.RowStatusFailed:
		if r.Error == nil {
			t.Errorf("row %d: failed without error", i)
			return
		}
		if r.Error.Code != code {
			t.Errorf("row %d: code %s, want %s (%s)", i, r.Error.Code, code, r.Error.Message)
		}
		gotField := ""
		if r.Error.Field != nil {
			gotField = *r.Error.Field
		}
		if gotField != field {
			t.Errorf("row %d: field %q, want %q", i, gotField, field)
		}
		if r.ZestPersonId != nil {
			t.Errorf("row %d: failed row carries zestPersonId", i)
		}
		if r.Error.Retryable != (code == client.RowErrorCodeUnavailable) {
			t.Errorf("row %d: retryable %v for code %s", i, r.Error.Retryable, code)
		}
	default:
		if r.ZestPersonId == nil || !strings.HasPrefix(*r.ZestPersonId, "psn_") {
			t.Errorf("row %d: %s without a psn_ id", i, status)
		}
		if r.Error != nil {
			t.Errorf("row %d: %s with an error", i, status)
		}
	}
}

// problem checks a problem response's status and code.
func wantProblem(t testing.TB, status int, body []byte, gotStatus int, code string) {
	t.Helper()
	if gotStatus != status {
		t.Fatalf("status %d, want %d: %s", gotStatus, status, body)
	}
	var p client.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, body)
	}
	if p.Code != code || p.Status != status || !strings.HasPrefix(p.ErrorId, "err_") || p.Detail == "" {
		t.Errorf("problem %+v, want code %s status %d with errorId and detail", p, code, status)
	}
}

func authHeader(token string) client.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", token)
		return nil
	}
}

// checkPairs asserts the pairing invariant: every person has its user, and
// every user its own person.
func checkPairs(t testing.TB, db *testkit.DB) {
	t.Helper()
	people, badUsers := db.Unpaired(t)
	if len(people) > 0 || badUsers > 0 {
		t.Errorf("pairing invariant broken: people without users %v, bad users %d", people, badUsers)
	}
}
