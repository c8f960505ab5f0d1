package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/netguard"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/internal/webhooks"
	"github.com/zestequity/zest-api/models"
)

var ctx = context.Background()

// answer is what the receiver replies to its nth request (from 1).
type answer func(n int) (int, http.Header)

// receiver is a webhook endpoint that counts the requests it got.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
	bodies  [][]byte
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.headers)
}

// harness is an API on a clock that stands still until the test moves it,
// one tenant with one endpoint, and a dispatcher that works only when the
// test steps it.
type harness struct {
	api      *testkit.API
	clock    *testkit.Clock
	client   *client.ClientWithResponses
	rcv      *receiver
	endpoint client.WebhookEndpointWithSecret
	disp     *webhooks.Dispatcher
}

var schedule = []time.Duration{time.Minute, 10 * time.Minute}

func newHarness(t *testing.T, d testkit.Dialect, reply answer) *harness {
	t.Helper()
	h := &harness{clock: testkit.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))}
	h.api = testkit.NewAPI(t, d, testkit.Options{Now: h.clock.Now})
	h.client = h.api.Client(t, h.api.Tenant(t, "acme"))
	h.rcv = &receiver{}
	h.rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		h.rcv.mu.Lock()
		h.rcv.headers = append(h.rcv.headers, req.Header.Clone())
		h.rcv.bodies = append(h.rcv.bodies, body)
		n := len(h.rcv.headers)
		h.rcv.mu.Unlock()
		status, header := reply(n)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(h.rcv.Close)
	resp, err := h.client.CreateWebhookEndpointWithResponse(ctx, nil, client.CreateWebhookEndpointJSONRequestBody{Url: h.rcv.URL})
	if err != nil || resp.JSON201 == nil {
		t.Fatalf("create endpoint: %v %s", err, resp.Body)
	}
	h.endpoint = *resp.JSON201
	h.disp = webhooks.NewDispatcher(h.api.Store, webhooks.DispatcherOptions{
		Schedule: schedule, Timeout: 5 * time.Second, Now: h.clock.Now,
		Policy: netguard.Policy{AllowPrivate: true}, Logger: slog.New(slog.DiscardHandler),
	})
	return h
}

// event imports one investor and returns the id of the event it fires.
func (h *harness) event(t *testing.T, pid string) string {
	t.Helper()
	resp, err := h.client.ImportInvestorsWithResponse(ctx, nil, client.ImportInvestorsJSONRequestBody{Investors: []client.InvestorInput{{
		PartnerInvestorId: pid, Email: openapi_types.Email(pid + "@example.com"), FirstName: "First", LastName: "Last",
		DateOfBirth: openapi_types.Date{Time: time.Date(1985, 4, 12, 0, 0, 0, 0, time.UTC)},
	}}})
	if err != nil || resp.JSON200 == nil || resp.JSON200.Results[0].Status != client.RowStatusCreated {
		t.Fatalf("import %s: %v %s", pid, err, resp.Body)
	}
	page, err := h.api.Webhooks.Events(ctx, "acme", nil, nil, 100)
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("events: %v %v", page, err)
	}
	return page.Events[len(page.Events)-1].EventID
}

// delivery reads the event's one delivery from the database.
func (h *harness) delivery(t *testing.T, eventID string) models.WebhookDelivery {
	t.Helper()
	ev, err := h.api.Store.Event(ctx, "acme", eventID)
	if err != nil || len(ev.Deliveries) != 1 {
		t.Fatalf("event %s: %d deliveries, %v", eventID, len(ev.Deliveries), err)
	}
	return ev.Deliveries[0]
}

// step works the dispatcher once and requires that it claimed want
// deliveries.
func (h *harness) step(t *testing.T, want int) {
	t.Helper()
	n, err := h.disp.Step(ctx)
	if err != nil || n != want {
		t.Fatalf("Step claimed %d (want %d): %v", n, want, err)
	}
}

func within(got, lo, hi time.Time) bool { return !got.Before(lo) && !got.After(hi) }

// Failed attempts are retried on the schedule, jittered by at most 10%, as
// the clock reaches each retry and not before; after the last retry the
// delivery fails and is not attempted again.
func TestStepRetriesOnTheSchedule(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		h := newHarness(t, d, func(int) (int, http.Header) { return http.StatusInternalServerError, nil })
		id := h.event(t, "sched-1")

		for i, wait := range schedule {
			start := h.clock.Now()
			h.step(t, 1)
			if h.rcv.count() != i+1 {
				t.Fatalf("%d requests after attempt %d", h.rcv.count(), i+1)
			}
			dl := h.delivery(t, id)
			lo, hi := start.Add(wait*9/10), start.Add(wait*11/10)
			if dl.Status != models.DeliveryPending || dl.Attempts != i+1 || !within(dl.NextAttemptAt, lo, hi) {
				t.Fatalf("after attempt %d: %s, %d attempts, next at %s, want %s to %s",
					i+1, dl.Status, dl.Attempts, dl.NextAttemptAt, lo, hi)
			}
			h.clock.Advance(dl.NextAttemptAt.Sub(h.clock.Now()) - time.Millisecond)
			h.step(t, 0)
			h.clock.Advance(time.Millisecond)
		}
		h.step(t, 1)
		if dl := h.delivery(t, id); dl.Status != models.DeliveryFailed || dl.Attempts != len(schedule)+1 || dl.LastStatusCode == nil || *dl.LastStatusCode != 500 {
			t.Fatalf("after the last retry: %+v", dl)
		}
		h.clock.Advance(72 * time.Hour)
		h.step(t, 0)
		if n := h.rcv.count(); n != len(schedule)+1 {
			t.Errorf("%d requests, want %d", n, len(schedule)+1)
		}
	})
}

// A 429 or 503 with a Retry-After sets the retry, up to a day; other
// answers follow the schedule whatever they say.
func TestStepHonoursRetryAfter(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name       string
		status     int
		retryAfter string
		lo, hi     time.Duration
	}{
		{"429 seconds", http.StatusTooManyRequests, "120", 2 * time.Minute, 2 * time.Minute},
		{"503 date", http.StatusServiceUnavailable, at.Add(time.Hour).Format(http.TimeFormat), time.Hour, time.Hour},
		{"503 past the cap", http.StatusServiceUnavailable, "999999999999", 24 * time.Hour, 24 * time.Hour},
		{"503 date in the past", http.StatusServiceUnavailable, at.Add(-time.Hour).Format(http.TimeFormat), schedule[0] * 9 / 10, schedule[0] * 11 / 10},
		{"429 malformed", http.StatusTooManyRequests, "soon", schedule[0] * 9 / 10, schedule[0] * 11 / 10},
		{"500 ignores it", http.StatusInternalServerError, "120", schedule[0] * 9 / 10, schedule[0] * 11 / 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, testkit.SQLite, func(int) (int, http.Header) {
				return c.status, http.Header{"Retry-After": {c.retryAfter}}
			})
			id := h.event(t, "ra-1")
			h.step(t, 1)
			dl := h.delivery(t, id)
			if lo, hi := at.Add(c.lo), at.Add(c.hi); dl.Status != models.DeliveryPending || !within(dl.NextAttemptAt, lo, hi) {
				t.Errorf("%s, next at %s, want %s to %s", dl.Status, dl.NextAttemptAt, lo, hi)
			}
		})
	}
}

// A 2xx settles the delivery with one signed request; stepping again sends
// nothing more.
func TestStepDelivers(t *testing.T) {
	h := newHarness(t, testkit.SQLite, func(int) (int, http.Header) { return http.StatusNoContent, nil })
	id := h.event(t, "ok-1")
	h.step(t, 1)
	dl := h.delivery(t, id)
	if dl.Status != models.DeliverySucceeded || dl.Attempts != 1 || dl.DeliveredAt == nil || !dl.DeliveredAt.Equal(h.clock.Now()) {
		t.Errorf("delivery %+v", dl)
	}
	wh, err := standardwebhooks.NewWebhook(h.endpoint.Secret)
	if err != nil {
		t.Fatal(err)
	}
	h.rcv.mu.Lock()
	header, body := h.rcv.headers[0], h.rcv.bodies[0]
	h.rcv.mu.Unlock()
	if err := wh.VerifyIgnoringTimestamp(body, header); err != nil || header.Get("webhook-id") != id ||
		header.Get("webhook-timestamp") != fmt.Sprint(h.clock.Now().Unix()) {
		t.Errorf("headers %v: %v", header, err)
	}
	h.clock.Advance(time.Hour)
	h.step(t, 0)
	if n := h.rcv.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// 410 Gone fails the delivery and disables the endpoint: later events get
// no delivery to it.
func TestStepGoneDisablesEndpoint(t *testing.T) {
	h := newHarness(t, testkit.SQLite, func(int) (int, http.Header) { return http.StatusGone, nil })
	id := h.event(t, "gone-1")
	h.step(t, 1)
	if dl := h.delivery(t, id); dl.Status != models.DeliveryFailed || dl.Attempts != 1 {
		t.Errorf("delivery %+v", dl)
	}
	ep, err := h.api.Webhooks.Endpoint(ctx, "acme", h.endpoint.Id)
	if err != nil || ep.Status != models.EndpointDisabled || ep.DisabledReason == nil || *ep.DisabledReason != "gone" {
		t.Errorf("endpoint %+v: %v", ep, err)
	}
	h.event(t, "gone-2")
	h.clock.Advance(72 * time.Hour)
	h.step(t, 0)
	if n := h.rcv.count(); n != 1 {
		t.Errorf("%d requests to a gone endpoint, want 1", n)
	}
}

// A delivery claimed by a dispatcher that died waits for its lease to
// expire, then is attempted.
func TestStepWaitsForExpiredLeases(t *testing.T) {
	h := newHarness(t, testkit.SQLite, func(int) (int, http.Header) { return http.StatusOK, nil })
	id := h.event(t, "lease-1")
	now := h.clock.Now()
	if claimed, err := h.api.Store.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10); err != nil || len(claimed) != 1 {
		t.Fatalf("the dead dispatcher claimed %d: %v", len(claimed), err)
	}
	h.clock.Advance(time.Minute - time.Millisecond)
	h.step(t, 0)
	h.clock.Advance(time.Millisecond)
	h.step(t, 1)
	if dl := h.delivery(t, id); dl.Status != models.DeliverySucceeded || h.rcv.count() != 1 {
		t.Errorf("delivery %+v after %d requests", dl, h.rcv.count())
	}
}

// The stats tell the counters and how long the oldest undelivered event has
// waited, by the dispatcher's clock.
func TestLogStats(t *testing.T) {
	h := newHarness(t, testkit.SQLite, func(int) (int, http.Header) { return http.StatusInternalServerError, nil })
	var logs testkit.SyncBuffer
	h.disp = webhooks.NewDispatcher(h.api.Store, webhooks.DispatcherOptions{
		Schedule: schedule, Now: h.clock.Now, Policy: netguard.Policy{AllowPrivate: true},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	h.event(t, "stats-1")
	h.step(t, 1)
	h.clock.Advance(90 * time.Second)
	h.disp.LogStats(ctx)
	var line struct {
		Msg                                  string
		Attempts, Succeeded, Retried, Failed int64
		OldestUndeliveredAgeS                float64 `json:"oldest_undelivered_age_s"`
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil {
		t.Fatalf("%v: %s", err, logs.String())
	}
	if line.Msg != "webhook dispatcher stats" || line.Attempts != 1 || line.Retried != 1 || line.Succeeded != 0 ||
		line.Failed != 0 || line.OldestUndeliveredAgeS != 90 {
		t.Errorf("stats %s", logs.String())
	}
}

// A dead endpoint is not hammered: after consecutive failures its
// deliveries wait behind one probe at a time, at a growing interval, and
// dispatchers sharing the database agree on it; a probe that succeeds lets
// the rest through.
func TestBreakerHoldsADeadEndpoint(t *testing.T) {
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		var alive atomic.Bool
		h := newHarness(t, d, func(int) (int, http.Header) {
			if alive.Load() {
				return http.StatusNoContent, nil
			}
			return http.StatusServiceUnavailable, nil
		})
		const events = 6
		for i := range events {
			h.event(t, fmt.Sprintf("breaker-%d", i))
		}
		dispatcher := func() *webhooks.Dispatcher {
			return webhooks.NewDispatcher(h.api.Store, webhooks.DispatcherOptions{
				Schedule: slices.Repeat([]time.Duration{time.Second}, 50), Timeout: 5 * time.Second, Now: h.clock.Now,
				Policy: netguard.Policy{AllowPrivate: true}, Logger: slog.New(slog.DiscardHandler),
				BreakerThreshold: 3, BreakerCooldown: time.Minute,
			})
		}
		h.disp = dispatcher()
		other := dispatcher()
		breaker := func() models.WebhookEndpoint {
			t.Helper()
			ep, err := h.api.Store.Endpoint(ctx, "acme", h.endpoint.Id)
			if err != nil {
				t.Fatal(err)
			}
			return ep
		}

		h.step(t, events)
		ep := breaker()
		if ep.ConsecutiveFailures != 3 || ep.OpenUntil == nil || !ep.OpenUntil.Equal(h.clock.Now().Add(time.Minute)) {
			t.Fatalf("after %d failures: %d failures, open until %v", events, ep.ConsecutiveFailures, ep.OpenUntil)
		}
		h.clock.Advance(2 * time.Second) // every delivery is due again
		h.step(t, 0)

		for i, cooldown := range []time.Duration{2 * time.Minute, 4 * time.Minute, 8 * time.Minute} {
			h.clock.Advance(breaker().OpenUntil.Sub(h.clock.Now()) - time.Millisecond)
			h.step(t, 0)
			h.clock.Advance(time.Millisecond)
			// Two dispatchers at once: one probe between them.
			var wg sync.WaitGroup
			var claimed atomic.Int64
			for _, disp := range []*webhooks.Dispatcher{h.disp, other} {
				wg.Go(func() {
					n, err := disp.Step(ctx)
					if err != nil {
						t.Error(err)
					}
					claimed.Add(int64(n))
				})
			}
			wg.Wait()
			if claimed.Load() != 1 {
				t.Fatalf("probe %d: %d deliveries claimed, want 1", i+1, claimed.Load())
			}
			if got := h.rcv.count(); got != events+i+1 {
				t.Fatalf("probe %d: %d requests, want %d", i+1, got, events+i+1)
			}
			ep := breaker()
			if want := h.clock.Now().Add(cooldown); ep.ConsecutiveFailures != 4+i || ep.OpenUntil == nil || !ep.OpenUntil.Equal(want) {
				t.Fatalf("after probe %d: %d failures, open until %v, want %v", i+1, ep.ConsecutiveFailures, ep.OpenUntil, want)
			}
			h.step(t, 0)
		}

		alive.Store(true)
		h.clock.Advance(8 * time.Minute)
		h.step(t, 1)
		if ep := breaker(); ep.ConsecutiveFailures != 0 || ep.OpenUntil != nil {
			t.Fatalf("after a probe succeeded: %d failures, open until %v", ep.ConsecutiveFailures, ep.OpenUntil)
		}
		h.step(t, events-1)
		if got := h.rcv.count(); got != events+3+events {
			t.Fatalf("%d requests in all, want %d", got, events+3+events)
		}
	})
}
