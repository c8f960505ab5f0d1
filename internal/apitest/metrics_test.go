package apitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/zestequity/zest-api/generated/client"
	"github.com/zestequity/zest-api/internal/metrics"
	"github.com/zestequity/zest-api/internal/testkit"
	"github.com/zestequity/zest-api/internal/webhooks"
)

// scrape reads /metrics as a scraper would, and returns each sample by its
// name and labels as the text format writes them.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %d %s", resp.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.Metric {
			key := name
			for _, l := range m.Label {
				key += "|" + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[key+"|count"] = float64(m.Histogram.GetSampleCount())
				out[key+"|sum"] = m.Histogram.GetSampleSum()
			}
		}
	}
	return out
}

// An import moves the counters by exactly its rows, its replay by one
// replay and no rows; the outbox lag is the age of the oldest undelivered
// event on the server's clock, and falls to 0 once it is delivered.
func TestMetricsAfterAnImport(t *testing.T) {
	t.Parallel()
	testkit.EachDialect(t, func(t *testing.T, d testkit.Dialect) {
		t.Parallel()
		clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		m := metrics.New(nil)
		e := newEnv(t, d, testkit.Options{Now: clock.Now, Observer: m})
		m.WatchOutbox(e.api.Store, clock.Now, 5*time.Second)
		srv := httptest.NewServer(m.Handler())
		t.Cleanup(srv.Close)

		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
		t.Cleanup(rcv.Close)
		e.endpoint(t, rcv.URL)
		known := row("m-known")
		e.importRows(t, known)
		before := scrape(t, srv.URL)

		bad := row("m-bad")
		bad.CountryOfResidence = ptr("ZZ")
		batch := append(rowsFor("m-new", 3), known, bad)
		key := "metrics-key"
		for range 2 {
			resp, err := e.client.ImportInvestorsWithResponse(ctx, &client.ImportInvestorsParams{IdempotencyKey: &key},
				client.ImportInvestorsJSONRequestBody{Investors: batch})
			if err != nil || resp.JSON200 == nil {
				t.Fatalf("import: %v %d %s", err, resp.StatusCode(), resp.Body)
			}
		}
		clock.Advance(90 * time.Second)
		after := scrape(t, srv.URL)

		const (
			imports    = "zest_http_request_duration_seconds|operation=importInvestors|status=200"
			statements = "zest_http_request_sql_statements|operation=importInvestors"
			sqlTime    = "zest_http_request_sql_duration_seconds|operation=importInvestors"
		)
		for k, want := range map[string]float64{
			"zest_import_rows_total|outcome=created":        3,
			"zest_import_rows_total|outcome=already_exists": 1,
			"zest_import_rows_total|outcome=failed":         1,
			"zest_idempotent_replays_total":                 1,
			imports + "|count":                              2,
			statements + "|count":                           2,
			sqlTime + "|count":                              2,
		} {
			if got := after[k] - before[k]; got != want {
				t.Errorf("%s moved by %v, want %v", k, got, want)
			}
		}
		// The replay is answered with the key's read alone; the original
		// with its writes.
		if got := after[statements+"|sum"] - before[statements+"|sum"]; got < 3 || got > 20 {
			t.Errorf("statements of the import and its replay: %v", got)
		}
		// The statements' time is part of the requests' latency.
		spent := after[imports+"|sum"] - before[imports+"|sum"]
		if got := after[sqlTime+"|sum"] - before[sqlTime+"|sum"]; got <= 0 || got > spent {
			t.Errorf("time in the statements of the import and its replay: %v s, of %v s in all", got, spent)
		}
		if got := after["zest_outbox_lag_seconds"]; got != 90 {
			t.Errorf("outbox lag %v s, want 90 (the first event's age)", got)
		}
		if got := after["zest_outbox_pending_deliveries|endpoint_state=enabled"]; got != 4 {
			t.Errorf("pending deliveries to enabled endpoints: %v, want 4", got)
		}

		step(t, e.api.Dispatcher(webhooks.DispatcherOptions{}), 4)
		settled := scrape(t, srv.URL)
		if settled["zest_outbox_lag_seconds"] != 0 || settled["zest_outbox_pending_deliveries|endpoint_state=enabled"] != 0 {
			t.Errorf("after delivery: lag %v, pending %v", settled["zest_outbox_lag_seconds"], settled["zest_outbox_pending_deliveries|endpoint_state=enabled"])
		}
	})
}
