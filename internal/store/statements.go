package store

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// Statements counts the SQL statements run on behalf of one context, so that
// the request log shows what a request cost the database: a batch of any
// size should stay at a handful.
type Statements struct{ n atomic.Int64 }

// Count returns how many statements were counted.
func (s *Statements) Count() int64 { return s.n.Load() }

type statementsKey struct{}

// CountStatements returns a context under which the store counts the
// statements it runs, and the counter.
func CountStatements(ctx context.Context) (context.Context, *Statements) {
	s := &Statements{}
	return context.WithValue(ctx, statementsKey{}, s), s
}

func countStatement(ctx context.Context) {
	if s, ok := ctx.Value(statementsKey{}).(*Statements); ok {
		s.n.Add(1)
	}
}

// pgxCounter sees every statement on PostgreSQL, GORM's included (GORM runs
// on the same pgx pool), transaction control too.
type pgxCounter struct{}

func (pgxCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	countStatement(ctx)
	return ctx
}

func (pgxCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// countGormStatements counts what runs through GORM, which on SQLite is every
// statement but transaction control.
func countGormStatements(db *gorm.DB) error {
	count := func(tx *gorm.DB) { countStatement(tx.Statement.Context) }
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("zest:count_create", count),
		cb.Query().After("gorm:query").Register("zest:count_query", count),
		cb.Update().After("gorm:update").Register("zest:count_update", count),
		cb.Delete().After("gorm:delete").Register("zest:count_delete", count),
		cb.Row().After("gorm:row").Register("zest:count_row", count),
		cb.Raw().After("gorm:raw").Register("zest:count_raw", count),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
