// Package metrics exposes the process's measurements in the Prometheus text
// format, on a registry of its own so that no library's global collectors
// leak into it.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zestequity/zest-api/internal/httpx"
)

// Metrics holds the collectors of one process.
type Metrics struct {
	reg        *prometheus.Registry
	latency    *prometheus.HistogramVec
	rows       *prometheus.CounterVec
	statements *prometheus.HistogramVec
	sqlTime    *prometheus.HistogramVec
	replays    prometheus.Counter
	log        *slog.Logger
}

// New returns the metrics of a process, with Go's runtime and the process's
// own collectors already registered.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.Default()
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "zest_http_request_duration_seconds",
			Help: "Time from the request's arrival to its answer, by operationId and status.",
			// From a replay (sub-millisecond) to a 1000-row import under load.
			Buckets: prometheus.ExponentialBucketsRange(0.0005, 10, 16),
		}, []string{"operation", "status"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zest_import_rows_total",
			Help: "Import rows answered, by outcome (created, already_exists, failed).",
		}, []string{"outcome"}),
		statements: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "zest_http_request_sql_statements",
			Help: "SQL statements run per request, by operationId; a batch costs a handful whatever its size.",
			// Integers: 0 to 64, finer where the budgets are.
			Buckets: []float64{0, 1, 2, 3, 4, 5, 6, 8, 10, 16, 32, 64},
		}, []string{"operation"}),
		sqlTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zest_http_request_sql_duration_seconds",
			Help:    "Time a request spent in its SQL statements, summed (encoding the parameters, the database, reading the rows), by operationId; the rest of its latency is the server's own.",
			Buckets: prometheus.ExponentialBucketsRange(0.0001, 10, 16),
		}, []string{"operation"}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zest_idempotent_replays_total",
			Help: "Requests answered from a stored Idempotency-Key response.",
		}),
		log: log,
	}
	m.reg.MustRegister(m.latency, m.rows, m.statements, m.sqlTime, m.replays,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every outcome is exported from the start, so that a rate over it is
	// defined before the first failure.
	for _, o := range []string{"created", "already_exists", "failed"} {
		m.rows.WithLabelValues(o)
	}
	return m
}

// Handler serves the registry. A collector that fails (the database not
// answering within its bound) is left out of that scrape and logged; the
// others are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// ObserveRequest records a finished request.
func (m *Metrics) ObserveRequest(r httpx.Finished) {
	m.latency.WithLabelValues(r.Operation, strconv.Itoa(r.Status)).Observe(r.Latency.Seconds())
	m.statements.WithLabelValues(r.Operation).Observe(float64(r.Statements))
	m.sqlTime.WithLabelValues(r.Operation).Observe(r.SQLTime.Seconds())
	for outcome, n := range r.Rows {
		m.rows.WithLabelValues(outcome).Add(float64(n))
	}
	if r.Replayed {
		m.replays.Inc()
	}
}

// Outbox is what the outbox collector reads, at scrape time.
type Outbox interface {
	// OldestPendingEvent returns when the oldest event with a pending
	// delivery was recorded, or nil when every delivery is settled.
	OldestPendingEvent(ctx context.Context) (*time.Time, error)
	// PendingDeliveries counts the pending deliveries by the state of their
	// endpoint.
	PendingDeliveries(ctx context.Context, now time.Time) (map[string]int64, error)
}

// WatchOutbox exports the outbox's lag and backlog, read from the database
// on each scrape within timeout, on the clock now (time.Now in production).
func (m *Metrics) WatchOutbox(o Outbox, now func() time.Time, timeout time.Duration) {
	m.reg.MustRegister(&outboxCollector{o: o, now: now, timeout: timeout})
}

var (
	lagDesc = prometheus.NewDesc("zest_outbox_lag_seconds",
		"Age of the oldest event with a pending delivery; 0 when none is pending.", nil, nil)
	pendingDesc = prometheus.NewDesc("zest_outbox_pending_deliveries",
		"Pending webhook deliveries by the state of their endpoint (enabled, breaker_open, disabled, deleted).", []string{"endpoint_state"}, nil)
)

type outboxCollector struct {
	o       Outbox
	now     func() time.Time
	timeout time.Duration
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagDesc
	ch <- pendingDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	now := c.now()
	switch oldest, err := c.o.OldestPendingEvent(ctx); {
	case err != nil:
		ch <- prometheus.NewInvalidMetric(lagDesc, err)
	case oldest == nil:
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, 0)
	default:
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, max(now.Sub(*oldest), 0).Seconds())
	}
	pending, err := c.o.PendingDeliveries(ctx, now)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		return
	}
	for _, state := range []string{"enabled", "breaker_open", "disabled", "deleted"} {
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(pending[state]), state)
	}
}

// PoolStats is a snapshot of a connection pool.
type PoolStats struct {
	Acquired, Idle, Total, Max int32
	// Acquires and AcquireWait are cumulative: the connections handed out
	// and the time spent waiting for them.
	Acquires    int64
	AcquireWait time.Duration
	// EmptyAcquires counts the acquires that found no idle connection.
	EmptyAcquires int64
}

// WatchPool exports a connection pool's saturation, read on each scrape.
func (m *Metrics) WatchPool(stats func() PoolStats) {
	m.reg.MustRegister(poolCollector(stats))
}

var (
	poolConnsDesc = prometheus.NewDesc("zest_db_pool_connections",
		"Database pool connections by state: acquired, idle, total, and the pool's max.", []string{"state"}, nil)
	poolAcquiresDesc = prometheus.NewDesc("zest_db_pool_acquires_total",
		"Connections handed out by the pool.", nil, nil)
	poolEmptyDesc = prometheus.NewDesc("zest_db_pool_empty_acquires_total",
		"Acquires that had to wait because no connection was idle.", nil, nil)
	poolWaitDesc = prometheus.NewDesc("zest_db_pool_acquire_wait_seconds_total",
		"Time requests spent waiting for a pooled connection.", nil, nil)
)

type poolCollector func() PoolStats

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolConnsDesc
	ch <- poolAcquiresDesc
	ch <- poolEmptyDesc
	ch <- poolWaitDesc
}

func (f poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := f()
	for state, n := range map[string]int32{"acquired": s.Acquired, "idle": s.Idle, "total": s.Total, "max": s.Max} {
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(poolAcquiresDesc, prometheus.CounterValue, float64(s.Acquires))
	ch <- prometheus.MustNewConstMetric(poolEmptyDesc, prometheus.CounterValue, float64(s.EmptyAcquires))
	ch <- prometheus.MustNewConstMetric(poolWaitDesc, prometheus.CounterValue, s.AcquireWait.Seconds())
}
