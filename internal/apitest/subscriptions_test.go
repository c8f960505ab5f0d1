package apitest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/subscriptions"
	"github.com/zestequity/zest-api/internal/testkit"
)

// spv provisions an open SPV of the tenant, as the operator CLI does.
func (e *env) spv(t testing.TB, clientID, slug, currency string, min *string) *subscriptions.Service {
	t.Helper()
	svc := subscriptions.New(e.api.Store, nil, nil)
	_, err := svc.CreateSPV(ctx, clientID, slug, "SPV "+slug, currency,
		[]subscriptions.ShareClassSpec{{Slug: "class-a", Name: "Class A"}, {Slug: "class-b"}}, min)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func sub(zid, value string) client.SubscriptionInput {
	return client.SubscriptionInput{ZestPersonId: zid, LumpSum: client.Money{Currency: "USD", Value: value}, ShareClassSlug: "class-a"}
}

// subscribe posts typed rows and requires a 201.
func (e *env) subscribe(t testing.TB, spv string, rows ...client.SubscriptionInput) client.CreateSubscriptionsResult {
	t.Helper()
	resp, err := e.client.CreateSubscriptionsWithResponse(ctx, spv, nil, client.CreateSubscriptionsJSONRequestBody{Subscriptions: rows})
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON201 == nil {
		t.Fatalf("subscribe: status %d, body %s", resp.StatusCode(), resp.Body)
	}
	if len(resp.JSON201.Results) != len(rows) {
		t.Fatalf("subscribe: %d results for %d rows", len(resp.JSON201.Results), len(rows))
	}
	return *resp.JSON201
}

func wantSub(t testing.TB, res client.CreateSubscriptionsResult, i int, outcome client.RowStatus, code, field string) {
	t.Helper()
	r := res.Results[i]
	if r.Outcome != outcome {
		t.Errorf("row %d: outcome %s, want %s (error %+v)", i, r.Outcome, outcome, r.Error)
		return
	}
	if outcome != client.RowStatusFailed {
		if r.SubscriptionSlug == nil || r.Status == nil || r.LumpSum == nil {
			t.Errorf("row %d: %s without its subscription", i, outcome)
		}
		return
	}
	if r.Error == nil || string(r.Error.Code) != code {
		t.Errorf("row %d: error %+v, want code %s", i, r.Error, code)
		return
	}
	got := ""
	if r.Error.Field != nil {
		got = *r.Error.Field
	}
	if got != field {
		t.Errorf("row %d: field %q, want %q", i, got, field)
	}
}

// Every row outcome of a subscription batch, the reads, completion and the
// events, on both databases.
func TestSubscriptionBatch(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		svc := e.spv(t, "acme", "growth", "USD", ptr("1000"))
		e.spv(t, "acme", "yen", "JPY", nil)
		imp := e.importRows(t, rowsFor("s", 4)...)
		zid := func(i int) string { return *imp.Results[i].ZestPersonId }

		res := e.subscribe(t, "growth",
			client.SubscriptionInput{PartnerSubscriptionId: ptr("ps-0"), ZestPersonId: zid(0), LumpSum: client.Money{Currency: "USD", Value: "50000.5"}, ShareClassSlug: "class-a"},
			sub(zid(1), "1000.00"),
			sub(zid(0), "1"),
			sub("psn_unknown", "5000"),
			client.SubscriptionInput{ZestPersonId: zid(2), LumpSum: client.Money{Currency: "USD", Value: "5000"}, ShareClassSlug: "class-z"},
			client.SubscriptionInput{ZestPersonId: zid(2), LumpSum: client.Money{Currency: "EUR", Value: "5000"}, ShareClassSlug: "class-a"},
			sub(zid(3), "5000.001"),
			sub(zid(3), "999.99"),
		)
		wantSub(t, res, 0, client.RowStatusCreated, "", "")
		wantSub(t, res, 1, client.RowStatusCreated, "", "")
		wantSub(t, res, 2, client.RowStatusFailed, "duplicate", "zestPersonId")
		wantSub(t, res, 3, client.RowStatusFailed, "not_found", "zestPersonId")
		wantSub(t, res, 4, client.RowStatusFailed, "not_found", "shareClassSlug")
		wantSub(t, res, 5, client.RowStatusFailed, "duplicate", "zestPersonId")
		wantSub(t, res, 6, client.RowStatusFailed, "format", "lumpSum.value")
		wantSub(t, res, 7, client.RowStatusFailed, "duplicate", "zestPersonId")
		if v := res.Results[0].LumpSum.Value; v != "50000.50" {
			t.Errorf("lump sum %q, want 50000.50", v)
		}
		if res.Summary.Created != 2 || res.Summary.Failed != 6 {
			t.Errorf("summary %+v", res.Summary)
		}

		res2 := e.subscribe(t, "growth", client.SubscriptionInput{ZestPersonId: zid(3), LumpSum: client.Money{Currency: "EUR", Value: "5000"}, ShareClassSlug: "class-a"}, sub(zid(2), "999.99"),
			client.SubscriptionInput{PartnerSubscriptionId: ptr("ps-0"), ZestPersonId: zid(0), LumpSum: client.Money{Currency: "USD", Value: "50000.50"}, ShareClassSlug: "class-a"},
			sub(zid(1), "2000"))
		wantSub(t, res2, 0, client.RowStatusFailed, "currency_mismatch", "lumpSum.currency")
		wantSub(t, res2, 1, client.RowStatusFailed, "min_value", "lumpSum.value")
		wantSub(t, res2, 2, client.RowStatusAlreadyExists, "", "")
		wantSub(t, res2, 3, client.RowStatusFailed, "conflict", "")
		if *res2.Results[2].SubscriptionSlug != *res.Results[0].SubscriptionSlug {
			t.Errorf("replay answered another subscription")
		}

		yen := e.subscribe(t, "yen", client.SubscriptionInput{ZestPersonId: zid(0), LumpSum: client.Money{Currency: "JPY", Value: "100.5"}, ShareClassSlug: "class-a"},
			client.SubscriptionInput{ZestPersonId: zid(1), LumpSum: client.Money{Currency: "JPY", Value: "1000000"}, ShareClassSlug: "class-b"})
		wantSub(t, yen, 0, client.RowStatusFailed, "format", "lumpSum.value")
		wantSub(t, yen, 1, client.RowStatusCreated, "", "")

		raw := e.rawSubscribe(t, "growth", `{"subscriptions":[{"zestPersonId":"`+zid(3)+`","lumpSum":{"currency":"USD","value":5000},"shareClassSlug":"class-a"},
			{"zestPersonId":"`+zid(3)+`"}, 7, {"zestPersonId":"`+zid(2)+`","lumpSum":{"currency":"USD","value":"5000"},"shareClassSlug":"class-a","extra":1}]}`)
		wantSub(t, raw, 0, client.RowStatusFailed, "format", "lumpSum.value")
		wantSub(t, raw, 1, client.RowStatusFailed, "duplicate", "zestPersonId")
		wantSub(t, raw, 2, client.RowStatusFailed, "format", "")
		wantSub(t, raw, 3, client.RowStatusFailed, "unknown_field", "extra")

		got, err := e.client.GetSubscriptionWithResponse(ctx, "growth", zid(0))
		if err != nil || got.JSON200 == nil || got.JSON200.SubscriptionSlug != *res.Results[0].SubscriptionSlug || got.JSON200.LumpSum.Value != "50000.50" {
			t.Fatalf("get: %v %s", err, got.Body)
		}
		if _, err := svc.Complete(ctx, "growth", zid(0)); err != nil {
			t.Fatal(err)
		}
		if again, err := svc.Complete(ctx, "growth", zid(0)); err != nil || again {
			t.Fatalf("completing twice: %v %v", again, err)
		}
		status := client.SubscriptionStatusCompleted
		list, err := e.client.ListSubscriptionsWithResponse(ctx, "growth", &client.ListSubscriptionsParams{Status: &status})
		if err != nil || list.JSON200 == nil || len(list.JSON200.Data) != 1 || list.JSON200.Data[0].CompletedAt == nil {
			t.Fatalf("list completed: %v %s", err, list.Body)
		}
		var createdEvents, completedEvents int
		if err := e.api.DB.SQL.QueryRow(`SELECT
				(SELECT count(*) FROM events WHERE type = 'subscription.created' AND subscription_id IS NOT NULL),
				(SELECT count(*) FROM events WHERE type = 'subscription.completed' AND subscription_id IS NOT NULL)`).Scan(&createdEvents, &completedEvents); err != nil {
			t.Fatal(err)
		}
		if createdEvents != 3 || completedEvents != 1 {
			t.Errorf("%d subscription.created and %d subscription.completed events, want 3 and 1", createdEvents, completedEvents)
		}

		spv, err := e.client.GetSpvWithResponse(ctx, "growth")
		if err != nil || spv.JSON200 == nil || len(spv.JSON200.ShareClasses) != 2 || *spv.JSON200.MinAmount != "1000.00" {
			t.Fatalf("get SPV: %v %s", err, spv.Body)
		}
		other := e.api.Tenant(t, "globex")
		e.spv(t, "globex", "globex-fund", "USD", nil)
		if r, _ := e.client.GetSpvWithResponse(ctx, "globex-fund"); r.StatusCode() != http.StatusNotFound {
			t.Errorf("another tenant's SPV: %d", r.StatusCode())
		}
		if r, _ := e.api.Client(t, other).ListSpvsWithResponse(ctx); r.JSON200 == nil || len(r.JSON200.Data) != 1 {
			t.Errorf("globex lists %s", r.Body)
		}
		if r, _ := e.client.CreateSubscriptionsWithResponse(ctx, "nope", nil, client.CreateSubscriptionsJSONRequestBody{Subscriptions: []client.SubscriptionInput{sub(zid(3), "5000")}}); r.StatusCode() != http.StatusNotFound {
			t.Errorf("unknown SPV: %d", r.StatusCode())
		}
		if err := svc.CloseSPV(ctx, "growth"); err != nil {
			t.Fatal(err)
		}
		r, _ := e.client.CreateSubscriptionsWithResponse(ctx, "growth", nil, client.CreateSubscriptionsJSONRequestBody{Subscriptions: []client.SubscriptionInput{sub(zid(3), "5000")}})
		wantProblem(t, http.StatusConflict, r.Body, r.StatusCode(), "spv_closed")
	})
}

func (e *env) rawSubscribe(t testing.TB, spv, body string) client.CreateSubscriptionsResult {
	t.Helper()
	resp, err := e.client.CreateSubscriptionsWithBodyWithResponse(ctx, spv, nil, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON201 == nil {
		t.Fatalf("subscribe: status %d, body %s", resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

// The reference's promise: every zestPersonId the API ever showed (in import
// results, fresh, replayed and from concurrent overlapping batches, and in
// GET and the list) subscribes; none is not_found.
func TestEveryShownPersonCanSubscribe(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		e.spv(t, "acme", "pairs", "USD", nil)
		all := rowsFor("pair", 120)
		var mu sync.Mutex
		shown := map[string]bool{}
		note := func(res client.ImportInvestorsResult) {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range res.Results {
				if r.ZestPersonId != nil {
					shown[*r.ZestPersonId] = true
				}
			}
		}
		note(e.importRows(t, all[:30]...))
		note(e.importRows(t, all[:30]...))
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				note(e.importRows(t, all[w*20:w*20+60]...))
			})
		}
		wg.Wait()
		for id := range shown {
			note(client.ImportInvestorsResult{Results: []client.RowResult{{ZestPersonId: ptr(e.get(t, id).ZestPersonId)}}})
		}
		var cursor *string
		for {
			page, err := e.client.ListInvestorsWithResponse(ctx, &client.ListInvestorsParams{Cursor: cursor, Limit: ptr(50)})
			if err != nil || page.JSON200 == nil {
				t.Fatalf("list: %v", err)
			}
			for _, inv := range page.JSON200.Data {
				shown[inv.ZestPersonId] = true
			}
			if cursor = page.JSON200.NextCursor; cursor == nil {
				break
			}
		}
		if len(shown) != 120 {
			t.Fatalf("shown %d ids, want 120", len(shown))
		}
		var batch []client.SubscriptionInput
		for id := range shown {
			batch = append(batch, sub(id, "100"))
		}
		res := e.subscribe(t, "pairs", batch...)
		for i, r := range res.Results {
			if r.Outcome != client.RowStatusCreated {
				t.Errorf("row %d (%s): %s %+v", i, batch[i].ZestPersonId, r.Outcome, r.Error)
			}
		}
	})
}

// Concurrent overlapping batches create each subscription exactly once, with
// one event each.
func TestConcurrentSubscriptionBatches(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		e.spv(t, "acme", "race", "USD", nil)
		imp := e.importRows(t, rowsFor("r", 100)...)
		var rows []client.SubscriptionInput
		for _, r := range imp.Results {
			rows = append(rows, sub(*r.ZestPersonId, "250.00"))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		created := map[string]int{}
		slugs := map[string]map[string]bool{}
		for w := range 4 {
			wg.Go(func() {
				res := e.subscribe(t, "race", rows[w*20:w*20+40]...)
				mu.Lock()
				defer mu.Unlock()
				for _, r := range res.Results {
					if r.Outcome == client.RowStatusFailed {
						t.Errorf("failed row: %+v", r.Error)
						continue
					}
					if r.Outcome == client.RowStatusCreated {
						created[*r.PersonId]++
					}
					if slugs[*r.PersonId] == nil {
						slugs[*r.PersonId] = map[string]bool{}
					}
					slugs[*r.PersonId][*r.SubscriptionSlug] = true
				}
			})
		}
		wg.Wait()
		if len(created) != 100 {
			t.Errorf("%d people created, want 100", len(created))
		}
		for p, n := range created {
			if n != 1 || len(slugs[p]) != 1 {
				t.Errorf("%s: created %d times, %d slugs", p, n, len(slugs[p]))
			}
		}
		var n int
		if err := e.api.DB.SQL.QueryRow(`SELECT count(*) FROM events WHERE type = 'subscription.created'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 100 {
			t.Errorf("%d subscription.created events, want 100", n)
		}
	})
}

// BenchmarkSubscriptionBatch times a batch of 1000 new subscriptions through
// the router, on each database.
func BenchmarkSubscriptionBatch(b *testing.B) {
	for _, d := range testkit.Dialects {
		b.Run(string(d), func(b *testing.B) {
			api := testkit.NewAPI(b, d, testkit.Options{})
			e := &env{api: api, token: api.Tenant(b, "acme")}
			e.client = api.Client(b, e.token)
			e.spv(b, "acme", "bench", "USD", nil)
			var ids []string
			for i := range b.N {
				imp := e.importRows(b, rowsFor(fmt.Sprintf("b%d", i), 1000)...)
				for _, r := range imp.Results {
					ids = append(ids, *r.ZestPersonId)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				rows := make([]client.SubscriptionInput, 1000)
				for j := range rows {
					rows[j] = sub(ids[i*1000+j], "1000.00")
				}
				res := e.subscribe(b, "bench", rows...)
				if res.Summary.Created != 1000 {
					b.Fatalf("created %d", res.Summary.Created)
				}
			}
		})
	}
}
