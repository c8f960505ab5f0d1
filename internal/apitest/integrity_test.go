package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/investors"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/models"
)

// hangUp cancels the request's context once the people are written: the
// client closing its socket between the Person and the User writes.
type hangUp struct {
	investors.Store
	cancel atomic.Pointer[context.CancelFunc]
}

func (h *hangUp) WritePeople(ctx context.Context, clientID string, people []models.Person, lookup []string) ([]investors.PersonRow, error) {
	rows, err := h.Store.WritePeople(ctx, clientID, people, lookup)
	if cancel := h.cancel.Load(); cancel != nil {
		(*cancel)()
	}
	return rows, err
}

// integrity fails the test on any violation of the pair's and the outbox's
// invariants, as `zest-api check` reports them.
func integrity(t testing.TB, api *testkit.API) {
	t.Helper()
	r, err := api.Investors.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Violations() != 0 {
		t.Errorf("invariants broken: %+v", r)
	}
}

// orphan writes a person without its User, as a process killed between the
// two writes leaves it.
func orphan(t testing.TB, api *testkit.API, pid string) models.Person {
	t.Helper()
	p := models.Person{ZestPersonID: "psn_orphan" + strings.ReplaceAll(pid, "-", ""), ClientID: "acme", PartnerInvestorID: pid,
		Email: pid + "@example.com", EmailNormalized: pid + "@example.com", FirstName: "F", LastName: "L",
		DateOfBirth: "1985-04-12", KYCManagedBy: models.KYCManagedByPartner, KYCFlags: models.StringList{}}
	if _, err := api.Store.WritePeople(ctx, "acme", []models.Person{p}, nil); err != nil {
		t.Fatal(err)
	}
	return p
}

// A client that hangs up in the middle of an import does not stop it: every
// Person gets its User and its event, and the request log says the client
// left (499, a warning), not that the server failed.
func TestHangUpMidWriteFinishesTheWrite(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		h := &hangUp{}
		e := newEnv(t, d, testkit.Options{WrapStore: func(s investors.Store) investors.Store { h.Store = s; return h }})
		body, err := json.Marshal(client.ImportInvestorsJSONRequestBody{Investors: rowsFor("hang", 200)})
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		h.cancel.Store(&cancel)
		req := httptest.NewRequestWithContext(rctx, http.MethodPost, "/v1/investors", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", "application/json")
		e.api.Handler.ServeHTTP(httptest.NewRecorder(), req)

		if n := e.api.DB.Count(t, "users"); n != 200 {
			t.Errorf("%d users for 200 people", n)
		}
		if n := e.api.DB.Count(t, "events"); n != 200 {
			t.Errorf("%d events for 200 people", n)
		}
		integrity(t, e.api)
		logs := e.api.Logs.String()
		if strings.Contains(logs, `"level":"ERROR"`) {
			t.Errorf("a hang-up is logged as an error:\n%s", logs)
		}
		var line map[string]any
		for l := range strings.SplitSeq(logs, "\n") {
			if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, `"route":"/v1/investors"`) {
				if err := json.Unmarshal([]byte(l), &line); err != nil {
					t.Fatal(err)
				}
			}
		}
		if line["status"] != float64(499) || line["level"] != "WARN" || line["client_closed"] != true {
			t.Errorf("request log line of a hang-up: %v", line)
		}
	})
}

// A person without its User is not shown by any read: its zestPersonId
// would 404 downstream. Once its pair is completed, it is.
func TestReadsHideIncompletePairs(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		p := orphan(t, e.api, "hidden-1")
		resp, err := e.client.GetInvestorWithResponse(ctx, p.ZestPersonID)
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, 404, resp.Body, resp.StatusCode(), "not_found")
		if l := e.list(t, &client.ListInvestorsParams{PartnerInvestorId: &p.PartnerInvestorID}); len(l.Data) != 0 {
			t.Errorf("by partnerInvestorId: %d investors", len(l.Data))
		}
		if l := e.list(t, nil); len(l.Data) != 0 {
			t.Errorf("list: %d investors", len(l.Data))
		}
		if n, err := e.api.Investors.CompletePending(ctx); err != nil || n != 1 {
			t.Fatalf("completer: %d %v", n, err)
		}
		if got := e.get(t, p.ZestPersonID); got.PartnerInvestorId != p.PartnerInvestorID {
			t.Errorf("after completion: %+v", got)
		}
		integrity(t, e.api)
	})
}

// The completer leaves an incomplete pair alone during the grace period (its
// request may still be writing it), then completes it as a replay of its row
// would: the User, and one investor.created event. Several completers at
// once complete each pair once.
func TestCompleterCompletesStalePairs(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		e := newEnv(t, d, testkit.Options{Now: clock.Now, CompleteAfter: time.Minute})
		for i := range 50 {
			orphan(t, e.api, fmt.Sprintf("stale-%02d", i))
		}
		if r, err := e.api.Investors.Check(ctx); err != nil || r.PeopleWithoutUser != 50 {
			t.Fatalf("check before: %+v %v", r, err)
		}
		clock.Advance(59 * time.Second)
		if n, err := e.api.Investors.CompletePending(ctx); err != nil || n != 0 {
			t.Fatalf("completer within the grace period: %d %v", n, err)
		}
		clock.Advance(2 * time.Second)
		var wg sync.WaitGroup
		var total atomic.Int64
		for range 4 {
			wg.Go(func() {
				n, err := e.api.Investors.CompleteAll(ctx)
				if err != nil {
					t.Error(err)
				}
				total.Add(int64(n))
			})
		}
		wg.Wait()
		if total.Load() != 50 {
			t.Errorf("completers completed %d pairs in all, want 50", total.Load())
		}
		if n := e.api.DB.Count(t, "events"); n != 50 {
			t.Errorf("%d events, want 50", n)
		}
		integrity(t, e.api)
		var payload string
		if err := e.api.DB.SQL.QueryRow(`SELECT payload FROM events WHERE type = 'investor.created' ORDER BY seq LIMIT 1`).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(payload, `"zestPersonId":"psn_orphanstale`) || !strings.Contains(payload, `"timestamp":"2026-03-01T12:01:01Z"`) {
			t.Errorf("event payload: %s", payload)
		}
		res := e.importRows(t, row("stale-07"))
		wantRow(t, res, 0, client.RowStatusAlreadyExists, "", "")
	})
}

func (e *env) list(t testing.TB, params *client.ListInvestorsParams) client.InvestorList {
	t.Helper()
	resp, err := e.client.ListInvestorsWithResponse(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("list: status %d, body %s", resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

// A request whose client has gone before the database answered is the
// client's doing: logged as 499 at info/warn level, never as a server error.
func TestHangUpBeforeAnswerIsNotAnError(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		gone, cancel := context.WithCancel(ctx)
		cancel()
		req := httptest.NewRequestWithContext(gone, http.MethodGet, "/v1/investors", nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		e.api.Handler.ServeHTTP(httptest.NewRecorder(), req)
		logs := e.api.Logs.String()
		if strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, `"status":499`) {
			t.Errorf("logs of a request whose client left:\n%s", logs)
		}
	})
}
