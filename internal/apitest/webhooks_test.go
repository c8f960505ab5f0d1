package apitest

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/internal/webhooks"
)

// delivery is one request a receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is a local webhook endpoint that records every delivery and
// answers with what answer says (200 by default).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []delivery
	answer func(n int, d delivery) (int, http.Header)
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := delivery{header: req.Header.Clone(), body: body}
		r.mu.Lock()
		r.got = append(r.got, d)
		n := len(r.got)
		answer := r.answer
		r.mu.Unlock()
		status := http.StatusOK
		if answer != nil {
			var h http.Header
			status, h = answer(n, d)
			for k, v := range h {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// byID counts deliveries per webhook-id.
func (r *receiver) byID() map[string]int {
	out := map[string]int{}
	for _, d := range r.deliveries() {
		out[d.header.Get("webhook-id")]++
	}
	return out
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// step works the dispatcher once and requires that it claimed want
// deliveries; the attempts are made and recorded when it returns.
func step(t *testing.T, d *webhooks.Dispatcher, want int) {
	t.Helper()
	if n, err := d.Step(ctx); err != nil || n != want {
		t.Fatalf("Step claimed %d deliveries, want %d: %v", n, want, err)
	}
}

// wantDeliveries requires that the receiver got n requests.
func (r *receiver) wantDeliveries(t *testing.T, n int) {
	t.Helper()
	if got := len(r.deliveries()); got != n {
		t.Fatalf("%d deliveries, want %d", got, n)
	}
}

func (e *env) endpoint(t *testing.T, url string) client.WebhookEndpointWithSecret {
	t.Helper()
	resp, err := e.client.CreateWebhookEndpointWithResponse(ctx, nil, client.CreateWebhookEndpointJSONRequestBody{Url: url, Description: ptr("test receiver")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON201 == nil {
		t.Fatalf("create endpoint: %d %s", resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

func (e *env) event(t *testing.T, id string) client.EventDetail {
	t.Helper()
	resp, err := e.client.GetEventWithResponse(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("get event: %d %s", resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

// A created row is delivered once, signed so that the official Standard
// Webhooks library verifies it, with the row's payload and kycManagedBy.
func TestWebhookDelivered(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		rcv := newReceiver(t)
		ep := e.endpoint(t, rcv.URL+"/hooks")
		disp := e.api.Dispatcher(webhooks.DispatcherOptions{})

		res := e.importRaw(t, referenceBatch).JSON200
		step(t, disp, 2)
		rcv.wantDeliveries(t, 2)

		wh, err := standardwebhooks.NewWebhook(ep.Secret)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, dl := range rcv.deliveries() {
			if err := wh.Verify(dl.body, dl.header); err != nil {
				t.Errorf("signature does not verify: %v", err)
			}
			if ct := dl.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var body client.InvestorCreatedWebhook
			if err := json.Unmarshal(dl.body, &body); err != nil {
				t.Fatal(err)
			}
			if body.Type != client.EventTypeInvestorCreated || body.Data.Status != client.InvestorCreatedDataStatusCreated ||
				body.Data.KycManagedBy != client.InvestorCreatedDataKycManagedByPartner || body.Timestamp.IsZero() {
				t.Errorf("payload %s", dl.body)
			}
			seen[body.Data.PartnerInvestorId+"="+body.Data.ZestPersonId] = true
			if id := dl.header.Get("webhook-id"); !strings.HasPrefix(id, "evt_") {
				t.Errorf("webhook-id %q", id)
			}
		}
		for _, r := range res.Results {
			if !seen[*r.PartnerInvestorId+"="+*r.ZestPersonId] {
				t.Errorf("no delivery for %s", *r.PartnerInvestorId)
			}
		}

		// Replays fire nothing: not already_exists rows, not idempotent replays.
		e.importRaw(t, referenceBatch)
		e.post(t, oneRow, withKey("k"))
		e.post(t, oneRow, withKey("k"))
		step(t, disp, 1)
		step(t, disp, 0)
		rcv.wantDeliveries(t, 3)
		if n := e.api.DB.Count(t, "events"); n != 3 {
			t.Errorf("%d events, want 3", n)
		}
	})
}

// A receiver that fails twice, then succeeds, sees the same webhook-id three
// times; the event shows the three attempts.
func TestWebhookRetried(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		clock := testkit.NewClock(time.Now())
		e := newEnv(t, d, testkit.Options{Now: clock.Now})
		rcv := newReceiver(t)
		rcv.answer = func(n int, _ delivery) (int, http.Header) {
			if n <= 2 {
				return http.StatusServiceUnavailable, nil
			}
			return http.StatusNoContent, nil
		}
		e.endpoint(t, rcv.URL)
		disp := e.api.Dispatcher(webhooks.DispatcherOptions{})
		e.importRows(t, row("retry-1"))
		for range 3 {
			step(t, disp, 1)
			clock.Advance(time.Hour) // past any of the first retries
		}
		step(t, disp, 0)
		rcv.wantDeliveries(t, 3)

		ids := rcv.byID()
		if len(ids) != 1 {
			t.Fatalf("webhook-ids %v, want one id three times", ids)
		}
		var id string
		for k := range ids {
			id = k
		}
		ev := e.event(t, id)
		if len(ev.Deliveries) != 1 || ev.Deliveries[0].Status != client.DeliveryStatusSucceeded {
			t.Fatalf("deliveries %s", rawJSON(t, ev.Deliveries))
		}
		if len(ev.Attempts) != 3 || *ev.Attempts[0].StatusCode != 503 || *ev.Attempts[1].StatusCode != 503 || *ev.Attempts[2].StatusCode != 204 {
			t.Errorf("attempts %s", rawJSON(t, ev.Attempts))
		}
		if ev.Deliveries[0].Attempts != 3 || ev.Deliveries[0].DeliveredAt == nil || ev.Deliveries[0].NextAttemptAt != nil {
			t.Errorf("delivery %s", rawJSON(t, ev.Deliveries[0]))
		}
	})
}

// Retry-After on a 429 postpones the retry; when the schedule is exhausted
// the delivery fails, and recover queues it again.
func TestWebhookRetryAfterAndRecover(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		clock := testkit.NewClock(time.Now())
		e := newEnv(t, d, testkit.Options{Now: clock.Now})
		rcv := newReceiver(t)
		var healthy sync.Mutex
		failing := true
		rcv.answer = func(n int, _ delivery) (int, http.Header) {
			healthy.Lock()
			defer healthy.Unlock()
			if n == 1 {
				return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
			}
			if failing {
				return http.StatusInternalServerError, nil
			}
			return http.StatusOK, nil
		}
		ep := e.endpoint(t, rcv.URL)
		disp := e.api.Dispatcher(webhooks.DispatcherOptions{Schedule: []time.Duration{time.Minute, time.Minute, time.Minute}})
		since := clock.Now().Add(-time.Minute)
		e.importRows(t, row("ra-1"))
		step(t, disp, 1)
		clock.Advance(time.Second - time.Millisecond)
		step(t, disp, 0) // the Retry-After of 1s has not passed
		clock.Advance(time.Millisecond)
		step(t, disp, 1)
		// 1 + 3 retries, then failed.
		for range 2 {
			clock.Advance(2 * time.Minute)
			step(t, disp, 1)
		}
		rcv.wantDeliveries(t, 4)
		var id string
		for k := range rcv.byID() {
			id = k
		}
		if st := e.event(t, id).Deliveries[0].Status; st != client.DeliveryStatusFailed {
			t.Fatalf("delivery %s after the last retry", st)
		}
		clock.Advance(72 * time.Hour)
		step(t, disp, 0)
		rcv.wantDeliveries(t, 4)

		healthy.Lock()
		failing = false
		healthy.Unlock()
		resp, err := e.client.RecoverWebhookDeliveriesWithResponse(ctx, ep.Id, nil, client.RecoverWebhookDeliveriesJSONRequestBody{Since: since})
		if err != nil || resp.JSON202 == nil || resp.JSON202.Requeued != 1 {
			t.Fatalf("recover: %v %s", err, resp.Body)
		}
		step(t, disp, 1)
		if ev := e.event(t, id); ev.Deliveries[0].Status != client.DeliveryStatusSucceeded || len(ev.Attempts) != 5 {
			t.Errorf("recovered delivery %s with %d attempts, want succeeded with 5", ev.Deliveries[0].Status, len(ev.Attempts))
		}
	})
}

// 410 Gone disables the endpoint: nothing more is sent to it.
func TestWebhookGoneDisablesEndpoint(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		rcv := newReceiver(t)
		rcv.answer = func(int, delivery) (int, http.Header) { return http.StatusGone, nil }
		ep := e.endpoint(t, rcv.URL)
		disp := e.api.Dispatcher(webhooks.DispatcherOptions{})
		e.importRows(t, row("gone-1"))
		step(t, disp, 1)
		got, _ := e.client.GetWebhookEndpointWithResponse(ctx, ep.Id)
		if got.JSON200 == nil || got.JSON200.Status != client.WebhookEndpointStatusDisabled ||
			got.JSON200.DisabledReason == nil || *got.JSON200.DisabledReason != "gone" {
			t.Errorf("endpoint %s", got.Body)
		}
		e.importRows(t, row("gone-2"))
		step(t, disp, 0)
		rcv.wantDeliveries(t, 1)
	})
}

// After a rotation, deliveries verify with the new secret and, during the
// grace period, with the old one.
func TestWebhookSecretRotation(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		rcv := newReceiver(t)
		ep := e.endpoint(t, rcv.URL)
		rot, err := e.client.RotateWebhookEndpointSecretWithResponse(ctx, ep.Id, nil)
		if err != nil || rot.JSON200 == nil || rot.JSON200.Secret == ep.Secret || !strings.HasPrefix(rot.JSON200.Secret, "whsec_") {
			t.Fatalf("rotate: %v %s", err, rot.Body)
		}
		disp := e.api.Dispatcher(webhooks.DispatcherOptions{})
		e.importRows(t, row("rot-1"))
		step(t, disp, 1)
		rcv.wantDeliveries(t, 1)
		dl := rcv.deliveries()[0]
		if n := len(strings.Fields(dl.header.Get("webhook-signature"))); n != 2 {
			t.Errorf("%d signatures during the grace period, want 2", n)
		}
		for _, secret := range []string{ep.Secret, rot.JSON200.Secret} {
			wh, _ := standardwebhooks.NewWebhook(secret)
			if err := wh.Verify(dl.body, dl.header); err != nil {
				t.Errorf("does not verify with a valid secret: %v", err)
			}
		}
		wh, _ := standardwebhooks.NewWebhook(webhooks.NewSecret())
		if err := wh.Verify(dl.body, dl.header); err == nil {
			t.Error("verifies with an unrelated secret")
		}
	})
}

// Endpoints: create, list, get, delete; tenant-scoped; URL rules.
func TestWebhookEndpoints(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		api := testkit.NewAPI(t, d, testkit.Options{StrictWebhookURLs: true})
		acme := &env{api: api, client: api.Client(t, api.Tenant(t, "acme"))}
		beta := &env{api: api, client: api.Client(t, api.Tenant(t, "beta"))}

		ep := acme.endpoint(t, "https://203.0.114.10/zest")
		if !strings.HasPrefix(ep.Id, "we_") || ep.Status != client.WebhookEndpointWithSecretStatusEnabled || ep.Description == nil {
			t.Errorf("created %+v", ep)
		}
		list, _ := acme.client.ListWebhookEndpointsWithResponse(ctx)
		if len(list.JSON200.Data) != 1 || strings.Contains(string(list.Body), "whsec_") {
			t.Errorf("list %s", list.Body)
		}
		got, _ := acme.client.GetWebhookEndpointWithResponse(ctx, ep.Id)
		if got.JSON200 == nil || strings.Contains(string(got.Body), "whsec_") {
			t.Errorf("get %s", got.Body)
		}
		other, _ := beta.client.GetWebhookEndpointWithResponse(ctx, ep.Id)
		wantProblem(t, 404, other.Body, other.StatusCode(), "not_found")
		del, _ := beta.client.DeleteWebhookEndpointWithResponse(ctx, ep.Id)
		wantProblem(t, 404, del.Body, del.StatusCode(), "not_found")

		for url, why := range map[string]string{
			"http://203.0.114.10/zest":       "https",
			"https://127.0.0.1/zest":         "loopback",
			"https://10.1.2.3/zest":          "private",
			"https://169.254.169.254/latest": "metadata",
			"https://localhost/zest":         "localhost",
			"https://user:pw@203.0.114.10/":  "credentials",
			"/relative":                      "absolute",
			"https://[::1]/zest":             "loopback",
		} {
			resp, err := acme.client.CreateWebhookEndpointWithResponse(ctx, nil, client.CreateWebhookEndpointJSONRequestBody{Url: url})
			if err != nil {
				t.Fatal(err)
			}
			wantProblem(t, 400, resp.Body, resp.StatusCode(), "invalid_webhook_url")
			if !strings.Contains(string(resp.Body), why) {
				t.Errorf("%s: %s does not say %q", url, resp.Body, why)
			}
		}

		// A control character, which the database could not store, is refused.
		bad, err := acme.client.CreateWebhookEndpointWithResponse(ctx, nil, client.CreateWebhookEndpointJSONRequestBody{Url: "https://203.0.114.10/zest", Description: ptr("a\u0000b")})
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, 400, bad.Body, bad.StatusCode(), "invalid_request")

		del, _ = acme.client.DeleteWebhookEndpointWithResponse(ctx, ep.Id)
		if del.StatusCode() != 204 {
			t.Errorf("delete: %d %s", del.StatusCode(), del.Body)
		}
		again, _ := acme.client.GetWebhookEndpointWithResponse(ctx, ep.Id)
		wantProblem(t, 404, again.Body, again.StatusCode(), "not_found")
	})
}

// The dispatcher refuses to connect to a private address even when the URL
// was accepted earlier (its host may have resolved elsewhere then).
func TestDispatcherRefusesPrivateAddresses(t *testing.T) {
	e := newEnv(t, testkit.SQLite, testkit.Options{})
	rcv := newReceiver(t)
	e.endpoint(t, rcv.URL) // accepted: the test API allows local receivers
	strict := webhooks.NewDispatcher(e.api.Store, webhooks.DispatcherOptions{Timeout: time.Second,
		Logger: slog.New(slog.NewJSONHandler(e.api.Logs, nil))})

	e.importRows(t, row("ssrf-1"))
	events, _ := e.client.ListEventsWithResponse(ctx, nil)
	id := events.JSON200.Data[0].Id
	step(t, strict, 1)
	attempts := e.event(t, id).Attempts
	if len(attempts) != 1 {
		t.Fatalf("%d attempts, want 1", len(attempts))
	}
	a := attempts[0]
	if a.StatusCode != nil || a.Error == nil || !strings.Contains(*a.Error, "not allowed") {
		t.Errorf("attempt %s", rawJSON(t, a))
	}
	if n := len(rcv.deliveries()); n != 0 {
		t.Errorf("the receiver got %d requests", n)
	}
}

// Exactly one event per created person, across mixed batches, replays and
// idempotent replays; events list in order, page by page, by type.
func TestOneEventPerCreatedPerson(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		e := newEnv(t, d, testkit.Options{})
		created := map[string]bool{}
		for round := range 3 {
			rows := rowsFor("ev", 30+round*10) // overlapping: later rounds replay earlier rows
			bad := row(fmt.Sprintf("ev-bad-%d", round))
			bad.Email = rows[0].Email
			res := e.importRows(t, append(rows, bad)...)
			for _, r := range res.Results {
				if r.Status == client.RowStatusCreated {
					created[*r.ZestPersonId] = true
				}
			}
			e.post(t, oneRow, withKey("same"))
		}
		var listed []client.Event
		var cursor *string
		for {
			page, err := e.client.ListEventsWithResponse(ctx, &client.ListEventsParams{Limit: ptr(7), Cursor: cursor, Type: ptr(client.EventTypeInvestorCreated)})
			if err != nil || page.JSON200 == nil {
				t.Fatalf("%v %s", err, page.Body)
			}
			listed = append(listed, page.JSON200.Data...)
			if !page.JSON200.HasMore {
				break
			}
			cursor = page.JSON200.NextCursor
		}
		if len(listed) != len(created)+1 { // +1: the idempotent row
			t.Fatalf("%d events for %d created people", len(listed), len(created)+1)
		}
		perPerson := map[string]int{}
		for i, ev := range listed {
			perPerson[ev.Data.ZestPersonId]++
			if i > 0 && ev.CreatedAt.Before(listed[i-1].CreatedAt) {
				t.Errorf("events out of order at %d", i)
			}
		}
		for id, n := range perPerson {
			if n != 1 {
				t.Errorf("%s has %d events", id, n)
			}
		}
		if people := e.api.DB.Count(t, "people"); people != len(perPerson) {
			t.Errorf("%d people, %d with events", people, len(perPerson))
		}
	})
}
