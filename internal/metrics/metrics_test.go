package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zestequity/zest-api/internal/httpx"
)

type stuckOutbox struct{}

func (stuckOutbox) OldestPendingEvent(ctx context.Context) (*time.Time, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (stuckOutbox) PendingDeliveries(context.Context, time.Time) (map[string]int64, error) {
	return nil, errors.New("database unreachable")
}

func scrape(t *testing.T, m *Metrics) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

// A database that does not answer costs a scrape its outbox figures, within
// the timeout, and nothing else.
func TestStuckOutboxLeavesTheRest(t *testing.T) {
	m := New(nil)
	m.WatchOutbox(stuckOutbox{}, time.Now, 50*time.Millisecond)
	m.ObserveRequest(httpx.Finished{Operation: "importInvestors", Status: 200, Latency: time.Millisecond,
		Statements: 3, SQLTime: 250 * time.Microsecond, Rows: map[string]int{"created": 2}, Replayed: true})
	start := time.Now()
	code, body := scrape(t, m)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("scrape took %v", d)
	}
	if code != 200 {
		t.Fatalf("scrape answered %d", code)
	}
	for _, want := range []string{`zest_import_rows_total{outcome="created"} 2`, `zest_import_rows_total{outcome="failed"} 0`,
		"zest_idempotent_replays_total 1", `zest_http_request_duration_seconds_count{operation="importInvestors",status="200"} 1`,
		`zest_http_request_sql_statements_sum{operation="importInvestors"} 3`,
		`zest_http_request_sql_duration_seconds_sum{operation="importInvestors"} 0.00025`} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(body, "zest_outbox_lag_seconds ") || strings.Contains(body, "zest_outbox_pending_deliveries{") {
		t.Error("outbox figures served without a database answer")
	}
}

// The pool's snapshot is exported as read, counters as counters.
func TestPoolStats(t *testing.T) {
	m := New(nil)
	m.WatchPool(func() PoolStats {
		return PoolStats{Acquired: 3, Idle: 1, Total: 4, Max: 16, Acquires: 10, EmptyAcquires: 2, AcquireWait: 1500 * time.Millisecond}
	})
	_, body := scrape(t, m)
	for _, want := range []string{`zest_db_pool_connections{state="acquired"} 3`, `zest_db_pool_connections{state="max"} 16`,
		"zest_db_pool_acquires_total 10", "zest_db_pool_empty_acquires_total 2", "zest_db_pool_acquire_wait_seconds_total 1.5"} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
