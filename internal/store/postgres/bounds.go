package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zestequity/zest-api/internal/sqlcount"
)

// Timeouts bound how long the store waits on PostgreSQL. They hold whatever
// the caller's context says, so that writes, which run detached from the
// client, are bounded too.
type Timeouts struct {
	// Connect bounds opening a connection, TCP and start-up (unless the URL
	// sets connect_timeout).
	Connect time.Duration
	// Acquire bounds waiting for a connection of the pool.
	Acquire time.Duration
	// Statement bounds one statement, from sending it to reading its last row.
	Statement time.Duration
}

// DefaultTimeouts are the production defaults (see README.md).
var DefaultTimeouts = Timeouts{Connect: 5 * time.Second, Acquire: 10 * time.Second, Statement: 30 * time.Second}

// cancelGrace is how long a statement past its deadline waits for the
// server to acknowledge the cancel before its connection is dropped.
const cancelGrace = time.Second

func (t Timeouts) orDefaults() Timeouts {
	if t.Connect <= 0 {
		t.Connect = DefaultTimeouts.Connect
	}
	if t.Acquire <= 0 {
		t.Acquire = DefaultTimeouts.Acquire
	}
	if t.Statement <= 0 {
		t.Statement = DefaultTimeouts.Statement
	}
	return t
}

// tracer sees every statement, GORM's included (GORM runs on the same pgx
// pool), transaction control too: it counts them and their time for
// sqlcount, and gives each, and each wait for a connection, its deadline.
// pgx runs the statement and the acquisition under the context the tracer
// returns.
type tracer struct{ bounds Timeouts }

type boundKey struct{}

// bound is what the tracer's start leaves for its end.
type bound struct {
	cancel  context.CancelFunc
	started time.Time
}

func withDeadline(ctx context.Context, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(ctx, d)
	return context.WithValue(ctx, boundKey{}, bound{cancel: cancel, started: time.Now()})
}

// release ends what withDeadline started, and returns how long ago it did.
func release(ctx context.Context) time.Duration {
	b, ok := ctx.Value(boundKey{}).(bound)
	if !ok {
		return 0
	}
	b.cancel()
	return time.Since(b.started)
}

func (t tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	sqlcount.Add(ctx)
	return withDeadline(ctx, t.bounds.Statement)
}

func (tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	sqlcount.AddTime(ctx, release(ctx))
}

func (t tracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	return withDeadline(ctx, t.bounds.Acquire)
}

func (tracer) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	release(ctx)
}
